/**
 * 充电中: the live charge of one order. The order comes from the query (orderId) or, after the app was closed,
 * from the stored active order. Subscribes orderUpdates (status, cost against the cap, the session id once the
 * pile started) and then sessionUpdates (samples: power, voltage, current, SoC, energy; DC phase; cost; end).
 * Loads the session's trend first so a resumed page shows the whole curve; draws power and SoC with
 * core/chart.js on <canvas type="2d">; the elapsed time ticks every second; 停止充电 stops the order. Once the
 * order is final it shows what was paid, used and refunded, and forgets the active order.
 */
var chart = require('../../core/chart.js');
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');
var canvas = require('../../utils/canvas.js');

var REDRAW_MS = 500;

function percent(part, whole) {
  if (!whole) return 0;
  return Math.max(0, Math.min(100, Math.floor((part * 100) / whole)));
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    empty: false,
    orderId: '',
    status: '',
    statusText: '',
    methodText: '',
    final: false,
    waitingPile: false,
    costText: money.yuanLabel(0),
    capText: money.yuanLabel(0),
    costPercent: 0,
    power: '--',
    voltage: '--',
    current: '--',
    soc: '--',
    energy: '--',
    phaseText: '',
    elapsed: '00:00:00',
    stopping: false,
    stopRequested: false,
    chart: { powerPoints: 0, socPoints: 0 },
    summary: null,
    failure: ''
  },

  onLoad: function (query) {
    var api = ui.api();
    var id = query && query.orderId ? decodeURIComponent(String(query.orderId)) : api.store.getActiveOrder();
    this.orderId = id ? String(id) : '';
    this.power = [];
    this.soc = [];
    this.subs = {};
    this.timer = null;
    this.drawTimer = null;
    this.startedAt = null;
    this.stoppedAt = null;
    this.sessionId = null;
    this.trend = canvas.chart(this, '#trend');
    if (!this.orderId) {
      this.setData({ loading: false, empty: true });
      return;
    }
    this.setData({ orderId: this.orderId });
  },

  onShow: function () {
    if (this.orderId) this.start();
  },

  onHide: function () {
    this.stop();
  },

  onUnload: function () {
    this.stop();
  },

  onPullDownRefresh: function () {
    this.stop();
    this.start().then(ui.stopPullDown, ui.stopPullDown);
  },

  start: function () {
    var page = this;
    if (this.running) return Promise.resolve();
    this.running = true;
    this.setData({ loading: !this.data.status, error: '' });
    return ui.api().order(this.orderId).then(function (order) {
      if (!page.running) return;
      page.applyOrder(order);
      if (!page.data.final) page.watchOrder();
    }, function (error) {
      page.running = false;
      ui.showError(page, error);
    });
  },

  stop: function () {
    this.running = false;
    var subs = this.subs || {};
    Object.keys(subs).forEach(function (name) { subs[name](); });
    this.subs = {};
    this.attachedSession = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawTimer) clearTimeout(this.drawTimer);
    this.drawTimer = null;
  },

  watchOrder: function () {
    var page = this;
    if (this.subs.order) return;
    this.subs.order = ui.api().subscribe('orderUpdates', { orderId: this.orderId }, {
      next: function (update) { page.applyOrder(update); },
      error: function (error) {
        delete page.subs.order;
        ui.showError(page, error);
      },
      complete: function () {
        delete page.subs.order;
        // the server ends the stream when the order is final: read it whole (refund, due)
        ui.api().order(page.orderId).then(function (order) { page.applyOrder(order); }, function () {});
      }
    });
  },

  applyOrder: function (order) {
    var final = format.isFinalOrder(order.status);
    var data = {
      loading: false,
      status: order.status,
      statusText: format.orderStatus(order.status),
      costText: money.yuanLabel(order.costFen),
      capText: money.yuanLabel(order.capFen),
      costPercent: percent(order.costFen, order.capFen),
      waitingPile: !order.sessionId && !final,
      failure: format.failureText(order.failureCode)
    };
    if (order.method) data.methodText = format.payMethod(order.method);
    if (final) {
      var used = order.dueFen === null || order.dueFen === undefined ? order.costFen : order.dueFen;
      data.final = true;
      data.summary = {
        paid: money.yuanLabel(order.paidFen),
        used: money.yuanLabel(used),
        refunded: money.yuanLabel(order.refundFen)
      };
    }
    this.setData(data);
    if (order.sessionId) this.attachSession(String(order.sessionId));
    if (final) this.finish();
  },

  finish: function () {
    var api = ui.api();
    if (api.store.getActiveOrder() === this.orderId) api.store.clearActiveOrder();
    var subs = this.subs;
    Object.keys(subs).forEach(function (name) { subs[name](); });
    this.subs = {};
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  },

  attachSession: function (sessionId) {
    var page = this;
    if (this.attachedSession === sessionId) return;
    this.attachedSession = sessionId;
    this.sessionId = sessionId;
    var live = [];
    this.liveSamples = live;
    if (!this.data.final && !this.subs.session) {
      // subscribe before reading the history, so no sample falls between the two
      this.subs.session = ui.api().subscribe('sessionUpdates', { sessionId: sessionId }, {
        next: function (update) { page.onSessionUpdate(update); },
        error: function () { delete page.subs.session; },
        complete: function () { delete page.subs.session; }
      });
    }
    ui.api().sessionTrend(sessionId, { measurands: ['POWER_W', 'SOC_PCT', 'ENERGY_WH'] }).then(function (session) {
      if (!session) return;
      page.startedAt = session.startedAt;
      page.stoppedAt = session.stoppedAt;
      var history = {
        power: chart.seriesFromTrend(session.trend, 'POWER_W').points,
        soc: chart.seriesFromTrend(session.trend, 'SOC_PCT').points
      };
      page.power = page.merge(history.power, page.power);
      page.soc = page.merge(history.soc, page.soc);
      var data = {
        energy: format.kwh(session.energyWh),
        phaseText: session.phase ? format.chargingPhase(session.phase) : ''
      };
      var s = session.latestSample;
      if (s && !page.gotLiveSample) {
        data.power = format.kw(s.powerW);
        data.voltage = format.volts(s.voltageMv);
        data.current = format.amps(s.currentMa);
        data.soc = format.pct(s.socPct === null || s.socPct === undefined ? session.socEndPct : s.socPct);
      }
      if (session.status === 'COMPLETED') {
        page.sessionStopped = true;
        data.elapsed = format.duration(session.durationS);
      }
      page.setData(data);
      page.scheduleDraw();
      if (!page.sessionStopped && !page.data.final) page.startTimer();
    }, function () {
      // the live samples still come; the curve starts from them
    });
  },

  merge: function (history, live) {
    var last = history.length ? history[history.length - 1].x : -1;
    return history.concat(live.filter(function (p) { return p.x > last; }));
  },

  startTimer: function () {
    var page = this;
    if (this.timer || !this.startedAt) return;
    this.tick();
    this.timer = setInterval(function () { page.tick(); }, 1000);
  },

  tick: function () {
    if (!this.startedAt) return;
    this.setData({ elapsed: format.duration(format.elapsedSeconds(this.startedAt, Date.now())) });
  },

  onSessionUpdate: function (update) {
    if (!update) return;
    switch (update.__typename) {
      case 'SessionSampleRecorded':
        this.onSample(update);
        break;
      case 'SessionPhaseEntered':
        this.setData({ phaseText: format.chargingPhase(update.phase) });
        break;
      case 'SessionCostUpdated':
        this.setData({
          costText: money.yuanLabel(update.costFen),
          capText: money.yuanLabel(update.capFen),
          costPercent: percent(update.costFen, update.capFen),
          energy: format.kwh(update.energyWh)
        });
        break;
      case 'SessionClosed':
        this.sessionStopped = true;
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        this.tick();
        this.setData({ energy: format.kwh(update.energyWh), phaseText: format.chargingPhase('ENDED') });
        break;
      default:
        break;
    }
  },

  onSample: function (update) {
    var s = update.sample;
    this.gotLiveSample = true;
    var data = {};
    if (s.powerW !== null && s.powerW !== undefined) data.power = format.kw(s.powerW);
    if (s.voltageMv !== null && s.voltageMv !== undefined) data.voltage = format.volts(s.voltageMv);
    if (s.currentMa !== null && s.currentMa !== undefined) data.current = format.amps(s.currentMa);
    if (s.socPct !== null && s.socPct !== undefined) data.soc = format.pct(s.socPct);
    if (update.sessionEnergyWh !== null && update.sessionEnergyWh !== undefined) {
      data.energy = format.kwh(update.sessionEnergyWh);
    }
    this.setData(data);
    var origin = this.startedAt || s.at;
    if (!this.startedAt) this.startedAt = origin;
    this.power = chart.appendPoint(this.power, chart.pointFromSample(s, origin, 'POWER_W'));
    this.soc = chart.appendPoint(this.soc, chart.pointFromSample(s, origin, 'SOC_PCT'));
    if (!this.timer && !this.sessionStopped && !this.data.final) this.startTimer();
    this.scheduleDraw();
  },

  scheduleDraw: function () {
    var page = this;
    if (this.drawTimer) return;
    this.drawTimer = setTimeout(function () {
      page.drawTimer = null;
      page.draw();
    }, REDRAW_MS);
  },

  draw: function () {
    this.setData({ chart: { powerPoints: this.power.length, socPoints: this.soc.length } });
    this.trend.draw({
      series: [
        { points: this.power, color: chart.MEASURANDS.POWER_W.color, label: '功率', unit: 'kW' },
        { points: this.soc, color: chart.MEASURANDS.SOC_PCT.color, label: 'SoC', unit: '%', min: 0, max: 100 }
      ],
      xLabel: '充电时长'
    });
  },

  onStop: function () {
    var page = this;
    if (this.data.stopping || this.data.final) return Promise.resolve();
    return ui.platform().confirm('停止充电', '确定要停止本次充电吗？').then(function (ok) {
      if (!ok) return null;
      page.setData({ stopping: true });
      return ui.api().stopCharging(page.orderId).then(function (order) {
        page.setData({ stopping: false, stopRequested: true });
        ui.platform().toast('已发送停止指令');
        page.applyOrder(order);
      }, function (error) {
        page.setData({ stopping: false });
        ui.actionFailed(page, error);
      });
    });
  },

  onOrder: function () {
    wx.redirectTo({ url: '/pages/order/index?id=' + encodeURIComponent(this.orderId) });
  },

  onHome: function () {
    wx.switchTab({ url: '/pages/map/index' });
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.stop();
    this.start();
  }
});
