// A Titanium app for iOS that downloads in the background with ti.urlsession: a button starts a
// download, a background fetch starts another, and either finishes even when the app was killed
// in between (iOS relaunches it with `backgroundtransfer`). Pending task identifiers live in
// Ti.App.Properties; finished files go to the app's data folder; a list shows both.
// The same flow as the seed's ios/example/app.js (tidev/ti.urlsession), written for this
// repository. In Node it runs under ti-shim.js (see run.js); it uses no Node API itself.
var URLSession = require('com.appcelerator.urlSession');

var SESSION_ID = 'com.test.test2';
var BUTTON_IMAGE = 'https://www.dropbox.com/s/x9pud64xo7s1pb6/IMG_20130715_181727.jpg';
var FETCH_IMAGE =
  'http://yourshot.nationalgeographic.com/exposure/content/photo/photo/1879122_uploadsmember258527yourshot-258527-1879122jpg_z5n3nv2g7piofy6fkaewns5su56efp7ahougetfp4dbeloye3ueq_2880x1922.jpg';

var session = null;
var handlerId = null;
var relaunchedForTransfer = false;
var uiReady = false;
var ui = {};

Ti.App.iOS.setMinimumBackgroundFetchInterval(Ti.App.iOS.BACKGROUNDFETCHINTERVAL_MIN);

// Creating the session with its identifier again is how the app hears about its tasks: an
// existing one is returned, and after a relaunch the new one picks up the earlier tasks.
function openSession() {
  var configuration = URLSession.createSessionConfiguration({ identifier: SESSION_ID });
  session = URLSession.createSession({ configuration: configuration });
  return session;
}

function pendingTasks() {
  var list = Ti.App.Properties.getObject('pendingDL');
  return list == null ? [] : list;
}

function addPending(taskIdentifier) {
  var list = pendingTasks();
  list.push(taskIdentifier);
  Ti.App.Properties.setObject('pendingDL', list);
}

function removePending(taskIdentifier) {
  var list = pendingTasks();
  var kept = [];
  for (var i = 0; i < list.length; i++) {
    if (list[i] != taskIdentifier) {
      kept.push(list[i]);
    }
  }
  Ti.App.Properties.setObject('pendingDL', kept);
}

// iOS wakes the app to fetch: start a download, then tell iOS the fetch is handled.
Ti.App.iOS.addEventListener('backgroundfetch', function (e) {
  Ti.API.info('backgroundfetch: ' + JSON.stringify(e));
  handlerId = e.handlerId;
  openSession();
  var taskIdentifier = URLSession.downloadTask({ session: session, url: FETCH_IMAGE });
  addPending(taskIdentifier);
  Ti.App.iOS.endBackgroundHandler(handlerId);
});

// iOS relaunched the app for its background session: re-create the session so its events come here.
Ti.App.iOS.addEventListener('backgroundtransfer', function (e) {
  Ti.API.info('backgroundtransfer: ' + JSON.stringify(e));
  if (session == null) {
    handlerId = e.handlerId;
    openSession();
    relaunchedForTransfer = true;
  }
});

Ti.App.iOS.addEventListener('downloadprogress', function (e) {
  var percent =
    e.totalBytesExpectedToWrite > 0 ? Math.round((100 * e.totalBytesWritten) / e.totalBytesExpectedToWrite) : 0;
  Ti.API.info('downloadprogress: task ' + e.taskIdentifier + ' at ' + percent + '% ' + JSON.stringify(e));
});

Ti.App.iOS.addEventListener('downloadcompleted', function (e) {
  Ti.API.info('downloadcompleted: task ' + e.taskIdentifier + ' ' + JSON.stringify(e));
  var name = Titanium.Filesystem.applicationDataDirectory + '/downloadedfile' + new Date().getTime() + '.png';
  var file = Titanium.Filesystem.getFile(name);
  file.write(e.data);
});

Ti.App.iOS.addEventListener('sessioncompleted', function (e) {
  Ti.API.info('sessioncompleted: task ' + e.taskIdentifier + ' success ' + e.success + ' ' + JSON.stringify(e));
  removePending(e.taskIdentifier);
  if (uiReady) {
    ui.list.setSections(listSections());
  }
  // A failed transfer says why here, e.g. { success: false, errorCode: -1009, message: '...' }.
});

// Every event of the session was delivered: a relaunched app tells iOS it is done once nothing is pending.
Ti.App.iOS.addEventListener('sessioneventscompleted', function (e) {
  Ti.API.info('sessioneventscompleted: ' + JSON.stringify(e));
  if (relaunchedForTransfer && pendingTasks().length == 0) {
    Ti.App.iOS.endBackgroundHandler(handlerId);
  }
  Ti.App.iOS.scheduleLocalNotification({
    alertBody: 'Background downloads finished',
    date: new Date().getTime(),
  });
});

function pendingItems() {
  var items = [];
  var list = pendingTasks();
  for (var i = 0; i < list.length; i++) {
    items.push({
      template: Ti.UI.LIST_ITEM_TEMPLATE_DEFAULT,
      properties: { title: 'task ID : ' + list[i], color: 'yellow' },
    });
  }
  return items;
}

function downloadedItems() {
  var items = [];
  var folder = Titanium.Filesystem.getFile(Titanium.Filesystem.applicationDataDirectory);
  var names = folder.getDirectoryListing();
  for (var i = 0; i < names.length; i++) {
    if (/^downloadedfile\d*\.png$/.test(names[i])) {
      items.push({ template: Ti.UI.LIST_ITEM_TEMPLATE_DEFAULT, properties: { title: names[i], color: 'green' } });
    }
  }
  return items;
}

function listSections() {
  var pending = Ti.UI.createListSection({ headerTitle: 'PENDING DOWNLOADS' });
  pending.setItems(pendingItems());
  var done = Ti.UI.createListSection({ headerTitle: 'DOWNLOADED FILES' });
  done.setItems(downloadedItems());
  return [pending, done];
}

ui.window = Ti.UI.createWindow({ backgroundColor: 'white' });
ui.button = Titanium.UI.createButton({ title: 'Download Image (url)', top: 70, width: 200, height: 40 });
ui.window.add(ui.button);

ui.button.addEventListener('click', function () {
  openSession();
  if (session != null) {
    var taskIdentifier = URLSession.downloadTask({ session: session, url: BUTTON_IMAGE });
    addPending(taskIdentifier);
    ui.list.setSections(listSections());
  }
});

ui.window.addEventListener('open', function () {
  uiReady = true;
});

ui.box = Ti.UI.createView({ top: 150, width: 300, height: 300 });
ui.window.add(ui.box);
ui.list = Ti.UI.createListView();
ui.list.setSections(listSections());
ui.box.add(ui.list);
ui.window.open();
