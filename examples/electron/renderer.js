// @ts-check
// The window: starts downloads through the preload bridge and draws their progress.
'use strict';
/** @type {any} */
const downloads = /** @type {any} */ (window).downloads;
const list = /** @type {HTMLUListElement} */ (document.getElementById('list'));
/** @type {Map<number, HTMLLIElement>} */
const rows = new Map();

document.getElementById('form')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const url = /** @type {HTMLInputElement} */ (document.getElementById('url')).value;
  try {
    const id = await downloads.start(url);
    const row = document.createElement('li');
    row.textContent = `${url}: starting`;
    rows.set(id, row);
    list.append(row);
  } catch (error) {
    alert(String(error));
  }
});
downloads.on('progress', (/** @type {any} */ e) => {
  const row = rows.get(e.taskIdentifier);
  if (row) row.textContent = `${e.totalBytesWritten} / ${e.totalBytesExpectedToWrite || '?'} bytes`;
});
downloads.on('saved', (/** @type {any} */ e) => {
  const row = rows.get(e.taskIdentifier);
  if (row) row.textContent = `saved to ${e.location}`;
});
downloads.on('done', (/** @type {any} */ e) => {
  const row = rows.get(e.taskIdentifier);
  if (row && !e.success) row.textContent = `failed: ${e.errorCode} ${e.message}`;
});
