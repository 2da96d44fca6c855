/**
 * utils/page.js: small helpers the WeChat pages share (the app's api, error display, navigation).
 * Pages keep `loading`, `error` (zh-CN text) and `needLogin` in their data and render them the same way.
 */
var format = require('../core/format.js');

function app() {
  return getApp().globalData;
}

function api() {
  return app().api;
}

function platform() {
  return app().platform;
}

/** Show an error on the page: typed GraphQL errors become zh-CN text; UNAUTHENTICATED offers the login. */
function showError(page, error, extra) {
  var text = format.errorText(error);
  var data = { loading: false, error: text, needLogin: api().needsLogin(error) };
  if (extra) {
    Object.keys(extra).forEach(function (key) { data[key] = extra[key]; });
  }
  page.setData(data);
  return text;
}

/** A failed action (not a failed load): a toast, and the login offer when the server wants a login. */
function actionFailed(page, error) {
  var text = format.errorText(error);
  if (api().needsLogin(error)) page.setData({ needLogin: true });
  platform().toast(text);
  return text;
}

function goLogin() {
  wx.switchTab({ url: '/pages/me/index' });
}

function stopPullDown() {
  if (typeof wx.stopPullDownRefresh === 'function') wx.stopPullDownRefresh();
}

function dataset(event) {
  return (event && event.currentTarget && event.currentTarget.dataset) || {};
}

module.exports = {
  app: app,
  api: api,
  platform: platform,
  showError: showError,
  actionFailed: actionFailed,
  goLogin: goLogin,
  stopPullDown: stopPullDown,
  dataset: dataset
};
