/**
 * app.js: builds the one api object (core/api.js over platform.js) that every page uses through
 * getApp().globalData.api, and keeps the QR value the app was opened with.
 */
var platform = require('./platform.js');
var config = require('./core/config.js');
var createApi = require('./core/api.js').createApi;

App({
  globalData: {
    api: null,
    platform: platform,
    launchQr: ''
  },

  onLaunch: function (options) {
    this.globalData.api = createApi({ adapter: platform, config: config });
    this.rememberQr(options);
  },

  onShow: function (options) {
    this.rememberQr(options);
  },

  rememberQr: function (options) {
    // "scan ordinary-link QR" opens pages/connector/index with query.q; the page reads it from its own query,
    // this copy covers a page that was opened before (e.g. the app was already running)
    var query = options && options.query;
    var scanned = this.globalData.api ? this.globalData.api.qrFromLaunch(query) : '';
    if (scanned) this.globalData.launchQr = scanned;
  }
});
