/**
 * A charge under way: the order (orderUpdates: status, cost against the cap, the session once the pile started)
 * and its session (sessionUpdates: samples, DC phases, cost, the end). Loads the session's trend first so a
 * resumed page shows the whole curve, ticks the elapsed time every second, draws power and SoC on
 * `<canvas type="2d">` with core/chart.js, stops on request, and shows the summary (paid / used / refunded)
 * once the order is final, when it also forgets the stored active order.
 *
 * Entry: `query.orderId` (after paying), or the active order in storage (the app was closed while charging).
 */
var platform = require('../../platform.js');
var money = require('../../core/money.js');
var format = require('../../core/format.js');
var chart = require('../../core/chart.js');
var view = require('../../utils/view.js');

var STOPPABLE = ['PAID', 'STARTING', 'CHARGING'];
var EMPTY_LIVE = { power: '--', voltage: '--', current: '--', soc: '--', energy: '--' };

function api() {
  return getApp().globalData.api;
}

function waitingText(order) {
  switch (order.status) {
    case 'CREATED':
      return '等待支付完成…';
    case 'PAID':
    case 'STARTING':
      return '正在启动充电桩，请确认充电枪已插好';
    case 'CHARGING':
      return '费用达到 ' + money.yuanLabel(order.capFen) + ' 时自动停止';
    case 'FINISHED':
    case 'SETTLING':
      return '充电已结束，正在结算…';
    case 'QUARANTINED':
      return '订单待人工审核，审核后结算';
    default:
      return '';
  }
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    empty: false,
    orderId: '',
    order: null,
    live: EMPTY_LIVE,
    phaseLabel: '',
    waitingText: '',
    elapsed: '00:00:00',
    hasChart: false,
    stopping: false,
    summary: null,
  },

  onLoad: function (query) {
    this.orderRaw = null;
    this.reset();
    var fromQuery = query && query.orderId ? String(query.orderId) : '';
    this.orderId = fromQuery || api().store.getActiveOrder() || '';
    if (!this.orderId) {
      this.setData({ loading: false, empty: true });
      return null;
    }
    this.setData({ orderId: this.orderId });
    this.started = true;
    return this.start();
  },

  onShow: function () {
    if (this.started) {
      return null; // onLoad has just started everything
    }
    if (!this.orderId) {
      this.orderId = api().store.getActiveOrder() || '';
      if (!this.orderId) {
        return null;
      }
      this.setData({ orderId: this.orderId, empty: false });
    }
    if (this.finished) {
      return null;
    }
    this.started = true;
    this.reset();
    return this.start();
  },

  onHide: function () {
    this.started = false;
    this.stopLive();
  },

  onUnload: function () {
    this.started = false;
    this.stopLive();
  },

  onReady: function () {
    return this.acquireCanvas();
  },

  onCanvasReady: function () {
    return this.acquireCanvas();
  },

  reset: function () {
    this.sessionId = null;
    this.startedAt = null;
    this.closedAt = null;
    this.historyLoaded = false;
    this.buffer = [];
    this.points = { POWER_W: [], SOC_PCT: [] };
    this.unsubOrder = null;
    this.unsubSession = null;
    this.ticker = null;
    this.finished = false;
  },

  stopLive: function () {
    if (this.unsubOrder) {
      this.unsubOrder();
      this.unsubOrder = null;
    }
    if (this.unsubSession) {
      this.unsubSession();
      this.unsubSession = null;
    }
    this.sessionId = null;
    this.stopTicker();
  },

  start: function () {
    var self = this;
    var orderId = self.orderId;
    self.setData({ loading: !self.data.order, error: '', needLogin: false });
    return api().order(orderId).then(function (order) {
      self.applyOrder(order);
      self.setData({ loading: false }, function () {
        self.acquireCanvas(); // the canvas exists once the order is shown
      });
      if (format.isFinalOrder(order.status)) {
        return self.finish(order);
      }
      if (api().store.getActiveOrder() !== String(order.id)) {
        api().store.setActiveOrder(order.id);
      }
      self.watchOrder();
      return order.sessionId ? self.attachSession(String(order.sessionId)) : null;
    }, function (error) {
      var needLogin = api().needsLogin(error);
      self.setData({
        loading: false,
        needLogin: needLogin,
        error: needLogin ? '请先登录后查看充电状态' : format.errorText(error),
      });
    });
  },

  applyOrder: function (patch) {
    var raw = Object.assign({}, this.orderRaw || {}, patch);
    if (raw.orderId && !raw.id) {
      raw.id = raw.orderId;
    }
    this.orderRaw = raw;
    var cost = typeof raw.costFen === 'number' ? raw.costFen : 0;
    var cap = typeof raw.capFen === 'number' ? raw.capFen : 0;
    this.setData({
      order: {
        id: String(raw.id || this.orderId),
        status: raw.status,
        statusLabel: format.orderStatus(raw.status),
        cost: money.yuanLabel(cost),
        cap: money.yuanLabel(cap),
        costPct: cap > 0 ? Math.min(100, Math.floor((cost * 100) / cap)) : 0,
        stoppable: STOPPABLE.indexOf(raw.status) >= 0,
      },
      waitingText: waitingText(raw),
    });
    if (this.data.stopping && STOPPABLE.indexOf(raw.status) < 0) {
      this.setData({ stopping: false });
    }
  },

  watchOrder: function () {
    var self = this;
    if (self.unsubOrder) {
      return;
    }
    self.unsubOrder = api().subscribe('orderUpdates', { orderId: self.orderId }, {
      next: function (update) {
        self.onOrderUpdate(update);
      },
      error: function () {
        self.unsubOrder = null;
      },
      complete: function () {
        self.unsubOrder = null;
        if (!self.finished) {
          self.refreshOrder();
        }
      },
    });
  },

  onOrderUpdate: function (update) {
    if (!update) {
      return null;
    }
    this.applyOrder(update);
    var work = [];
    if (update.sessionId && String(update.sessionId) !== this.sessionId) {
      work.push(this.attachSession(String(update.sessionId)));
    }
    if (format.isFinalOrder(update.status)) {
      work.push(this.refreshOrder());
    }
    return Promise.all(work);
  },

  /** The full order again (the final one has the settled amounts and the finish time). */
  refreshOrder: function () {
    var self = this;
    return api().order(self.orderId).then(function (order) {
      if (self.finished) {
        return null;
      }
      self.applyOrder(order);
      if (format.isFinalOrder(order.status)) {
        return self.finish(order);
      }
      if (order.sessionId && String(order.sessionId) !== self.sessionId) {
        return self.attachSession(String(order.sessionId));
      }
      return null;
    }, function () {
      return null;
    });
  },

  /** Subscribe first (events wait in a buffer), then load the history, so no sample falls between the two. */
  attachSession: function (sessionId) {
    var self = this;
    if (self.sessionId === sessionId) {
      return Promise.resolve();
    }
    self.sessionId = sessionId;
    self.historyLoaded = false;
    self.buffer = [];
    if (self.unsubSession) {
      self.unsubSession();
    }
    self.unsubSession = api().subscribe('sessionUpdates', { sessionId: sessionId }, {
      next: function (event) {
        self.onSessionEvent(event);
      },
      error: function () {
        self.unsubSession = null;
      },
      complete: function () {
        self.unsubSession = null;
      },
    });
    return api().sessionTrend(sessionId, { measurands: ['POWER_W', 'SOC_PCT'] }).then(function (session) {
      if (self.sessionId === sessionId) {
        self.applyHistory(session);
      }
    }, function () {
      if (self.sessionId === sessionId) {
        self.applyHistory(null);
      }
    });
  },

  applyHistory: function (session) {
    if (session) {
      this.startedAt = session.startedAt;
      this.points = {
        POWER_W: chart.seriesFromTrend(session.trend, 'POWER_W').points,
        SOC_PCT: chart.seriesFromTrend(session.trend, 'SOC_PCT').points,
      };
      var patch = {};
      if (session.phase) {
        patch.phaseLabel = format.chargingPhase(session.phase);
      }
      patch.live = this.liveFrom(session.latestSample, session.energyWh);
      if (session.status === 'COMPLETED' && session.stoppedAt) {
        this.closedAt = session.stoppedAt;
      }
      patch.hasChart = this.points.POWER_W.length > 0 || this.points.SOC_PCT.length > 0;
      this.setData(patch);
    }
    this.historyLoaded = true;
    var waiting = this.buffer;
    this.buffer = [];
    for (var i = 0; i < waiting.length; i++) {
      this.onSessionEvent(waiting[i]);
    }
    this.tick();
    if (!this.closedAt) {
      this.startTicker();
    }
    this.redraw();
  },

  /** Live values: a number from the sample replaces the shown one; a missing one keeps it. */
  liveFrom: function (sample, energyWh) {
    var live = Object.assign({}, this.data.live || EMPTY_LIVE);
    var s = sample || {};
    if (typeof s.powerW === 'number') {
      live.power = format.kw(s.powerW);
    }
    if (typeof s.voltageMv === 'number') {
      live.voltage = format.volts(s.voltageMv);
    }
    if (typeof s.currentMa === 'number') {
      live.current = format.amps(s.currentMa);
    }
    if (typeof s.socPct === 'number') {
      live.soc = format.pct(s.socPct);
    }
    if (typeof energyWh === 'number') {
      live.energy = format.kwh(energyWh);
    }
    return live;
  },

  onSessionEvent: function (event) {
    if (!event) {
      return;
    }
    if (!this.historyLoaded) {
      this.buffer.push(event);
      return;
    }
    switch (event.__typename) {
      case 'SessionSampleRecorded':
        this.onSample(event);
        break;
      case 'SessionPhaseEntered':
        this.setData({ phaseLabel: format.chargingPhase(event.phase) });
        break;
      case 'SessionCostUpdated':
        this.applyOrder({ costFen: event.costFen, capFen: event.capFen });
        this.setData({ live: this.liveFrom(null, event.energyWh) });
        break;
      case 'SessionClosed':
        this.closedAt = event.at;
        this.stopTicker();
        this.tick();
        this.setData({ live: this.liveFrom(null, event.energyWh) });
        break;
      default:
        break;
    }
  },

  onSample: function (event) {
    var sample = event.sample || {};
    if (!this.startedAt) {
      this.startedAt = sample.at;
    }
    var power = chart.pointFromSample(sample, this.startedAt, 'POWER_W');
    var soc = chart.pointFromSample(sample, this.startedAt, 'SOC_PCT');
    this.points = {
      POWER_W: chart.appendPoint(this.points.POWER_W, power),
      SOC_PCT: chart.appendPoint(this.points.SOC_PCT, soc),
    };
    this.setData({
      live: this.liveFrom(sample, event.sessionEnergyWh),
      hasChart: this.points.POWER_W.length > 0 || this.points.SOC_PCT.length > 0,
    });
    this.redraw();
  },

  tick: function () {
    if (!this.startedAt) {
      return;
    }
    var end = this.closedAt ? Date.parse(this.closedAt) : Date.now();
    this.setData({ elapsed: format.duration(format.elapsedSeconds(this.startedAt, end)) });
  },

  startTicker: function () {
    var self = this;
    if (self.ticker) {
      return;
    }
    self.ticker = setInterval(function () {
      self.tick();
    }, 1000);
  },

  stopTicker: function () {
    if (this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  },

  chartSeries: function () {
    var power = chart.MEASURANDS.POWER_W;
    var soc = chart.MEASURANDS.SOC_PCT;
    return [
      { points: this.points.POWER_W, color: power.color, label: power.label, unit: power.unit },
      { points: this.points.SOC_PCT, color: soc.color, label: soc.label, unit: soc.unit, min: 0, max: 100 },
    ];
  },

  /** The one drawing call: tests pass a recording fake context here. */
  paint: function (ctx, width, height) {
    return chart.drawTrend(ctx, { width: width, height: height, series: this.chartSeries(), xLabel: '充电时长' });
  },

  redraw: function () {
    if (this.canvas) {
      this.paint(this.canvas.ctx, this.canvas.width, this.canvas.height);
    }
  },

  acquireCanvas: function () {
    var self = this;
    if (self.canvas || self.acquiring) {
      return Promise.resolve(self.canvas || null);
    }
    self.acquiring = true;
    return platform.canvas2d(self, 'trend').then(function (canvas) {
      self.acquiring = false;
      if (canvas) {
        self.canvas = canvas;
        self.redraw();
      }
      return canvas;
    });
  },

  finish: function (order) {
    var self = this;
    self.finished = true;
    self.stopLive();
    if (api().store.getActiveOrder() === String(order.id)) {
      api().store.clearActiveOrder();
    }
    var used = typeof order.dueFen === 'number' ? order.dueFen : order.costFen;
    var title = { SETTLED: '充电完成', CANCELLED: '订单已取消', SETTLEMENT_FAILED: '结算异常，请联系客服' }[order.status];
    var summary = {
      title: title || format.orderStatus(order.status),
      failure: view.orderNote(order),
      paid: money.yuanLabel(order.paidFen || 0),
      used: money.yuanLabel(used || 0),
      refunded: money.yuanLabel(order.refundFen || 0),
      energy: '--',
      duration: '--',
      stopReason: '',
    };
    self.setData({ summary: summary, stopping: false, waitingText: '' });
    if (!order.sessionId) {
      return Promise.resolve(summary);
    }
    // the final curve and totals of the session
    return api().sessionTrend(String(order.sessionId), { measurands: ['POWER_W', 'SOC_PCT'] }).then(function (s) {
      if (!s) {
        return summary;
      }
      self.startedAt = s.startedAt;
      self.closedAt = s.stoppedAt || self.closedAt;
      self.points = {
        POWER_W: chart.seriesFromTrend(s.trend, 'POWER_W').points,
        SOC_PCT: chart.seriesFromTrend(s.trend, 'SOC_PCT').points,
      };
      self.setData({
        'summary.energy': format.kwh(s.energyWh),
        'summary.duration': format.duration(s.durationS),
        'summary.stopReason': s.stopReason ? format.stopReason(s.stopReason) : '',
        elapsed: format.duration(s.durationS),
        live: self.liveFrom(s.latestSample, s.energyWh),
        hasChart: self.points.POWER_W.length > 0,
      });
      self.redraw();
      return summary;
    }, function () {
      return summary;
    });
  },

  onStop: function () {
    var self = this;
    if (self.data.stopping) {
      return Promise.resolve();
    }
    return platform.confirm('停止充电', '确定要停止本次充电吗？').then(function (ok) {
      if (!ok) {
        return null;
      }
      self.setData({ stopping: true });
      return api().stopCharging(self.orderId).then(function (order) {
        self.applyOrder(order);
        platform.toast('正在停止充电…');
        if (format.isFinalOrder(order.status)) {
          return self.finish(order);
        }
        return null;
      }, function (error) {
        self.setData({ stopping: false });
        platform.toast(format.errorText(error));
      });
    });
  },

  onRetry: function () {
    this.stopLive();
    this.reset();
    this.started = true;
    return this.start();
  },

  onGoLogin: function () {
    platform.switchTab('/pages/me/index');
  },

  onGoMap: function () {
    platform.switchTab('/pages/map/index');
  },

  onOpenOrder: function () {
    platform.navigateTo('/pages/order/index?id=' + encodeURIComponent(this.orderId));
  },
});
