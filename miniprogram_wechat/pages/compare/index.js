/**
 * 充电对比: two sessions (ids from the orders page) on one chart, measured from each session's start, with a
 * measurand switch (功率 / SoC / 电压 / 电流); both lines share one scale; a legend with each session's
 * station, start, energy and duration.
 */
var chart = require('../../core/chart.js');
var format = require('../../core/format.js');
var ui = require('../../utils/page.js');
var canvas = require('../../utils/canvas.js');

var MEASURANDS = ['POWER_W', 'SOC_PCT', 'VOLTAGE_MV', 'CURRENT_MA'];
var COLORS = ['#07c160', '#1677ff'];

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    measurand: 'POWER_W',
    tabs: MEASURANDS.map(function (m) { return { value: m, label: format.measurand(m) }; }),
    sessions: [],
    unit: '',
    chart: { series: 0, points: 0 }
  },

  onLoad: function (query) {
    var raw = query && query.ids ? decodeURIComponent(String(query.ids)) : '';
    this.ids = raw.split(',').filter(function (id) { return !!id; });
    this.series = [];
    this.trend = canvas.chart(this, '#compare');
    this.load();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  load: function () {
    var page = this;
    if (this.ids.length < 2) {
      this.setData({ loading: false, error: '请在订单列表中选择两笔订单进行对比' });
      return Promise.resolve();
    }
    var measurand = this.data.measurand;
    this.setData({ loading: true, error: '' });
    return ui.api().compare(this.ids, measurand).then(function (result) {
      var spec = chart.MEASURANDS[measurand];
      page.series = chart.shareAxis(result.sessions.map(function (entry, index) {
        return chart.seriesFromTrend({ series: [entry.series] }, measurand, {
          color: COLORS[index % COLORS.length],
          label: index === 0 ? 'A' : 'B'
        });
      }));
      page.setData({
        loading: false,
        unit: spec ? spec.unit : '',
        sessions: result.sessions.map(function (entry, index) {
          var s = entry.session;
          return {
            id: String(s.id),
            mark: index === 0 ? 'A' : 'B',
            color: COLORS[index % COLORS.length],
            station: s.station ? s.station.name : '',
            startedAt: format.dateTime(s.startedAt),
            energy: format.kwh(s.energyWh),
            duration: format.duration(s.durationS),
            maxPower: format.kw(s.maxPowerW)
          };
        })
      });
      page.draw();
    }, function (error) {
      ui.showError(page, error);
    });
  },

  draw: function () {
    var points = 0;
    this.series.forEach(function (s) { points += s.points.length; });
    this.setData({ chart: { series: this.series.length, points: points } });
    this.trend.draw({ series: this.series, xLabel: '自开始充电起' });
  },

  onMeasurand: function (event) {
    var value = ui.dataset(event).value;
    if (MEASURANDS.indexOf(value) < 0 || value === this.data.measurand) return Promise.resolve();
    this.setData({ measurand: value });
    return this.load();
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.load();
  }
});
