/**
 * The Alipay mini-program's App: builds the api over the platform adapter and routes the two ways a driver
 * arrives with a job to do.
 *
 * - A scanned pile QR code ("associated ordinary QR" or our landing page's alipays:// link) reaches App.onLaunch
 *   (cold start) or App.onShow (hot start) as `options.query.qrCode`. Alipay does not promise to pass it to the
 *   page as well, so App keeps it (`globalData.pendingQr`) and the connector page takes it; on a hot start with a
 *   page already open, App opens the connector page itself.
 * - A charge still running when the app was closed (the active order in storage): the home page resumes it on
 *   the charging page once per launch (`resumeOnLaunch`).
 */
var platform = require('./platform.js');
var config = require('./core/config.js');
var createApi = require('./core/api.js').createApi;

var CONNECTOR_ROUTE = 'pages/connector/index';

App({
  globalData: {
    api: null,
    pendingQr: '',
    resumeOnLaunch: true,
  },

  onLaunch: function (options) {
    this.globalData.api = createApi({ adapter: platform, config: config });
    this.acceptLaunch(options, false);
  },

  onShow: function (options) {
    this.acceptLaunch(options, true);
  },

  /** Keep a scanned code from the launch options; on a hot start, bring the connector page up for it. */
  acceptLaunch: function (options, routeNow) {
    var query = (options && options.query) || {};
    var scanned = this.globalData.api ? this.globalData.api.qrFromLaunch({ qrCode: query.qrCode }) : '';
    if (!scanned) {
      return;
    }
    var now = Date.now();
    if (scanned === this.lastLaunchQr && now - this.lastLaunchAt < 3000) {
      return; // onLaunch and onShow of one cold start bring the same code
    }
    this.lastLaunchQr = scanned;
    this.lastLaunchAt = now;
    this.globalData.pendingQr = scanned;
    this.globalData.resumeOnLaunch = false; // the driver came to charge here: do not jump to an old session
    if (routeNow) {
      this.routePendingQr();
    }
  },

  routePendingQr: function () {
    var pages = typeof getCurrentPages === 'function' ? getCurrentPages() : [];
    if (!pages || !pages.length) {
      return; // cold start: the first page (home or connector) takes the code
    }
    var top = pages[pages.length - 1];
    if (top.route === CONNECTOR_ROUTE && typeof top.enterScanned === 'function') {
      top.enterScanned(this.takePendingQr());
      return;
    }
    platform.navigateTo('/' + CONNECTOR_ROUTE);
  },

  /** The scanned code App holds, once: the connector page calls this in onLoad. */
  takePendingQr: function () {
    var scanned = this.globalData.pendingQr;
    this.globalData.pendingQr = '';
    return scanned;
  },

  /** True once per launch: the home page then looks for a charge to resume. */
  takeResumeOnLaunch: function () {
    var resume = this.globalData.resumeOnLaunch;
    this.globalData.resumeOnLaunch = false;
    return resume;
  },
});
