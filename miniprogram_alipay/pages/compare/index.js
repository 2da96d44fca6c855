/**
 * Two sessions on one chart (sessionComparison: each measured from its own start), on a shared y axis, with a
 * measurand switch (功率 / SoC / 电压 / 电流). Entry: `query.sessions` = "id1,id2" (from the orders page).
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var chart = require('../../core/chart.js');
var view = require('../../utils/view.js');

var COLORS = ['#1677ff', '#fa8c16'];
var MEASURANDS = ['POWER_W', 'SOC_PCT', 'VOLTAGE_MV', 'CURRENT_MA'];

function api() {
  return getApp().globalData.api;
}

/** Both series on one axis, so the curves compare: from 0 to the larger maximum (SoC: 0 to 100). */
function sharedAxis(series, measurand) {
  if (measurand === 'SOC_PCT') {
    return { min: 0, max: 100 };
  }
  var hi = 0;
  series.forEach(function (s) {
    s.points.forEach(function (p) {
      if (typeof p.y === 'number' && p.y > hi) {
        hi = p.y;
      }
    });
  });
  return { min: 0, max: hi > 0 ? chart.niceCeil(hi) : 1 };
}

Page({
  data: {
    measurands: MEASURANDS.map(function (m) {
      return { key: m, label: format.measurand(m) };
    }),
    measurand: 'POWER_W',
    measurandLabel: format.measurand('POWER_W'),
    loading: true,
    error: '',
    empty: false,
    sessions: [],
  },

  onLoad: function (query) {
    var raw = query && query.sessions ? decodeURIComponent(String(query.sessions)) : '';
    this.ids = raw.split(',').filter(function (id) {
      return id;
    });
    this.series = [];
    if (this.ids.length < 2) {
      this.setData({ loading: false, error: '请在订单列表中选择两笔订单进行对比' });
      return null;
    }
    return this.load();
  },

  onReady: function () {
    return this.acquireCanvas();
  },

  load: function () {
    var self = this;
    var measurand = self.data.measurand;
    self.setData({ loading: true, error: '' });
    return api().compare(self.ids, measurand).then(function (result) {
      if (measurand !== self.data.measurand) {
        return;
      }
      var series = result.sessions.map(function (item, i) {
        var s = chart.seriesFromTrend({ series: [item.series] }, measurand);
        s.color = COLORS[i % COLORS.length];
        s.label = i === 0 ? 'A' : 'B';
        return s;
      });
      var axis = sharedAxis(series, measurand);
      series.forEach(function (s) {
        s.min = axis.min;
        s.max = axis.max;
      });
      self.series = series;
      self.setData({
        loading: false,
        empty: series.every(function (s) {
          return !s.points.length;
        }),
        sessions: result.sessions.map(function (item, i) {
          var session = item.session;
          return {
            id: String(session.id),
            color: COLORS[i % COLORS.length],
            station: (i === 0 ? 'A · ' : 'B · ') + (session.station ? session.station.name : '充电记录 ' + session.id),
            started: format.dateTime(session.startedAt),
            energy: format.kwh(session.energyWh),
            duration: format.duration(session.durationS),
            maxPower: format.kw(session.maxPowerW),
          };
        }),
      });
      self.redraw();
    }, function (error) {
      self.setData({ loading: false, error: format.errorText(error) });
    });
  },

  onMeasurand: function (event) {
    var key = view.dataset(event).key;
    if (MEASURANDS.indexOf(key) < 0 || key === this.data.measurand) {
      return null;
    }
    this.setData({ measurand: key, measurandLabel: format.measurand(key) });
    return this.load();
  },

  /** The one drawing call: tests pass a recording fake context here. Only the first axis is labelled. */
  paint: function (ctx, width, height) {
    var series = this.series.map(function (s, i) {
      return i === 0 ? s : Object.assign({}, s, { unit: '' });
    });
    return chart.drawTrend(ctx, { width: width, height: height, series: series, xLabel: '充电时长' });
  },

  redraw: function () {
    if (this.canvas) {
      this.paint(this.canvas.ctx, this.canvas.width, this.canvas.height);
    }
  },

  onCanvasReady: function () {
    return this.acquireCanvas();
  },

  acquireCanvas: function () {
    var self = this;
    if (self.canvas) {
      return Promise.resolve(self.canvas);
    }
    return platform.canvas2d(self, 'compareTrend').then(function (canvas) {
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
});
