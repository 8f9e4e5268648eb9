// @ts-check
// The only bridge between the sandboxed window and the main process.
'use strict';
const { contextBridge, ipcRenderer } = require('electron');

contextBridge.exposeInMainWorld('downloads', {
  start: (/** @type {string} */ url) => ipcRenderer.invoke('download:start', url),
  cancel: (/** @type {number} */ taskIdentifier) => ipcRenderer.invoke('download:cancel', taskIdentifier),
  on: (/** @type {'progress' | 'done' | 'saved'} */ what, /** @type {(payload: any) => void} */ listener) => {
    ipcRenderer.on(`download:${what}`, (_event, payload) => listener(payload));
  },
});
