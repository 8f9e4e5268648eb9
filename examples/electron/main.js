// @ts-check
// An Electron main-process download manager: urlsession runs in the main process (where
// Node's event loop lives), and progress is forwarded to the window over IPC.
// Run it from a checkout with Electron installed: `npx electron examples/electron`.
// The addon must be built for Electron's ABI: N-API builds (prebuildify --napi) load as is.
'use strict';
const path = require('node:path');
const { app, BrowserWindow, ipcMain } = require('electron');
const URLSession = require('urlsession');

/** @type {BrowserWindow | undefined} */
let window;
/** @type {import('urlsession').Session | undefined} */
let session;

function createWindow() {
  window = new BrowserWindow({
    width: 640,
    height: 420,
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true },
  });
  void window.loadFile(path.join(__dirname, 'index.html'));
}

app.whenReady().then(() => {
  // A persistent session: downloads interrupted by a quit continue at the next launch.
  session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      identifier: 'com.example.electron-downloads',
      downloadDirectory: app.getPath('downloads'),
    }),
  });
  const send = (/** @type {string} */ channel, /** @type {unknown} */ payload) =>
    window?.webContents.send(channel, payload);
  session.on('downloadprogress', (e) => send('download:progress', e));
  session.on('sessioncompleted', (e) => send('download:done', e));
  session.on('downloadcompleted', ({ taskIdentifier, location }) =>
    send('download:saved', { taskIdentifier, location }),
  );

  ipcMain.handle('download:start', (_event, /** @type {string} */ url) => {
    if (session === undefined) throw new Error('not ready');
    // Argument errors (bad URL, bad scheme) throw synchronously and reach the renderer as a rejection.
    return session.downloadTask({ url });
  });
  ipcMain.handle(
    'download:cancel',
    (_event, /** @type {number} */ taskIdentifier) => session?.cancelTask(taskIdentifier) ?? false,
  );
  createWindow();
});

app.on('window-all-closed', () => {
  // Let running downloads finish; the session is persistent, so a quit mid-transfer resumes later.
  session?.finishTasksAndInvalidate();
  app.quit();
});
