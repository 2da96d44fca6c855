/**
 * 订单详情: one order: status, station, paid / used (due) / refunded, the cost by tariff period (costDetail),
 * energy, duration, times, and the session's power and SoC curve (session trend) drawn with core/chart.js.
 */
var chart = require('../../core/chart.js');
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');
var canvas = require('../../utils/canvas.js');

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    order: null,
    lines: [],
    session: null,
    chart: { powerPoints: 0, socPoints: 0 }
  },

  onLoad: function (query) {
    this.orderId = query && query.id ? decodeURIComponent(String(query.id)) : '';
    this.series = null;
    this.trend = canvas.chart(this, '#trend');
    this.load();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  load: function () {
    var page = this;
    var api = ui.api();
    if (!this.orderId) {
      this.setData({ loading: false, error: '缺少订单参数' });
      return Promise.resolve();
    }
    this.setData({ loading: true, error: '' });
    return api.order(this.orderId).then(function (o) {
      var final = format.isFinalOrder(o.status);
      var used = o.dueFen === null || o.dueFen === undefined ? o.costFen : o.dueFen;
      page.setData({
        loading: false,
        order: {
          id: String(o.id),
          outTradeNo: o.outTradeNo,
          status: o.status,
          statusText: format.orderStatus(o.status),
          final: final,
          active: o.status === 'PAID' || o.status === 'STARTING' || o.status === 'CHARGING',
          methodText: format.payMethod(o.method),
          connector: o.chargePointId + ' · ' + o.connectorNo + ' 号枪',
          stationName: o.stationName || '充电站 ' + o.stationId,
          cap: money.yuanLabel(o.capFen),
          paid: money.yuanLabel(o.paidFen),
          used: money.yuanLabel(used),
          refunded: money.yuanLabel(o.refundFen),
          createdAt: format.dateTimeSeconds(o.createdAt),
          finishedAt: o.finishedAt ? format.dateTimeSeconds(o.finishedAt) : '',
          settledAt: o.settledAt ? format.dateTimeSeconds(o.settledAt) : '',
          failure: o.failureCode ? format.failureText(o.failureCode) :
            o.quarantineReason ? '订单待人工审核：' + o.quarantineReason : ''
        },
        lines: format.costBreakdown(o.costDetail)
      });
      return o.sessionId ? page.loadSession(String(o.sessionId)) : null;
    }, function (error) {
      ui.showError(page, error);
    });
  },

  loadSession: function (sessionId) {
    var page = this;
    return ui.api().sessionTrend(sessionId, { measurands: ['POWER_W', 'SOC_PCT'] }).then(function (session) {
      if (!session) return;
      page.series = [
        chart.seriesFromTrend(session.trend, 'POWER_W'),
        chart.seriesFromTrend(session.trend, 'SOC_PCT')
      ];
      page.setData({
        session: {
          id: String(session.id),
          energy: format.kwh(session.energyWh),
          duration: format.duration(session.durationS),
          maxPower: format.kw(session.maxPowerW),
          soc: session.socStartPct === null || session.socStartPct === undefined
            ? format.pct(session.socEndPct)
            : format.pct(session.socStartPct) + ' → ' + format.pct(session.socEndPct),
          startedAt: format.dateTimeSeconds(session.startedAt),
          stopReason: session.stopReason ? format.stopReason(session.stopReason) : ''
        }
      });
      page.draw();
    }, function () {
      page.setData({ session: null });
    });
  },

  draw: function () {
    if (!this.series) return;
    this.setData({ chart: { powerPoints: this.series[0].points.length, socPoints: this.series[1].points.length } });
    this.trend.draw({ series: this.series, xLabel: '充电时长' });
  },

  onCharging: function () {
    wx.redirectTo({ url: '/pages/charging/index?orderId=' + encodeURIComponent(this.orderId) });
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.load();
  }
});
