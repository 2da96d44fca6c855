/**
 * One order: paid, used (due) and refunded, the cost breakdown by tariff period (costDetail), and the session's
 * energy, duration and trend chart (power and SoC).
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var chart = require('../../core/chart.js');
var view = require('../../utils/view.js');

var LIVE = ['PAID', 'STARTING', 'CHARGING'];

function api() {
  return getApp().globalData.api;
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    order: null,
    failure: '',
    cost: null,
    session: null,
  },

  onLoad: function (query) {
    this.orderId = query && query.id ? String(query.id) : '';
    this.series = [];
    if (!this.orderId) {
      this.setData({ loading: false, error: '缺少订单编号' });
      return null;
    }
    return this.load();
  },

  onReady: function () {
    return this.acquireCanvas();
  },

  load: function () {
    var self = this;
    self.setData({ loading: true, error: '', needLogin: false });
    return api().order(self.orderId).then(function (order) {
      var row = view.orderRow(order);
      row.live = LIVE.indexOf(order.status) >= 0;
      self.setData({
        loading: false,
        order: row,
        failure: view.orderNote(order),
        cost: view.costLines(order.costDetail),
      });
      return order.sessionId ? self.loadSession(String(order.sessionId)) : null;
    }, function (error) {
      var needLogin = api().needsLogin(error);
      self.setData({ loading: false, needLogin: needLogin, error: needLogin ? '请先登录' : format.errorText(error) });
    });
  },

  loadSession: function (sessionId) {
    var self = this;
    return api().sessionTrend(sessionId, { measurands: ['POWER_W', 'SOC_PCT'] }).then(function (s) {
      if (!s) {
        return;
      }
      var socText = '--';
      if (typeof s.socStartPct === 'number' || typeof s.socEndPct === 'number') {
        socText = format.pct(s.socStartPct) + ' → ' + format.pct(s.socEndPct);
      }
      self.series = [
        chart.seriesFromTrend(s.trend, 'POWER_W'),
        chart.seriesFromTrend(s.trend, 'SOC_PCT'),
      ];
      self.setData({
        session: {
          id: String(s.id),
          energy: format.kwh(s.energyWh),
          duration: format.duration(s.durationS),
          soc: socText,
          maxPower: format.kw(s.maxPowerW),
          stopReason: s.stopReason ? format.stopReason(s.stopReason) : '',
          points: self.series[0].points.length,
        },
      }, function () {
        self.acquireCanvas();
      });
      self.redraw();
    }, function () {
      self.setData({ session: null });
    });
  },

  /** The one drawing call: tests pass a recording fake context here. */
  paint: function (ctx, width, height) {
    return chart.drawTrend(ctx, { width: width, height: height, series: this.series, xLabel: '充电时长' });
  },

  redraw: function () {
    if (this.canvas) {
      this.paint(this.canvas.ctx, this.canvas.width, this.canvas.height);
    }
  },

  onCanvasReady: function () {
    return this.acquireCanvas();
  },

  /** The canvas appears with the session (a:if): its own onReady, the page's onReady or the render after the
   * session data, whichever finds it first. */
  acquireCanvas: function () {
    var self = this;
    if (self.canvas || self.acquiring) {
      return Promise.resolve(self.canvas || null);
    }
    self.acquiring = true;
    return platform.canvas2d(self, 'orderTrend').then(function (canvas) {
      self.acquiring = false;
      if (canvas) {
        self.canvas = canvas;
        self.redraw();
      }
      return canvas;
    });
  },

  onRetry: function () {
    return this.load();
  },

  onGoLogin: function () {
    platform.switchTab('/pages/me/index');
  },

  onOpenCharging: function () {
    platform.navigateTo('/pages/charging/index?orderId=' + encodeURIComponent(this.orderId));
  },
});
