/**
 * A station: address, opening hours, the day's tariff table (current period highlighted), its piles and
 * connectors with live status (connectorStatus subscription), navigation, and a tap on a connector to charge.
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

function api() {
  return getApp().globalData.api;
}

Page({
  data: {
    loading: true,
    error: '',
    station: null,
    piles: [],
    tariff: null,
    tariffError: '',
  },

  onLoad: function (query) {
    this.stationId = query && query.id ? String(query.id) : '';
    this.unsubscribe = null;
    if (!this.stationId) {
      this.setData({ loading: false, error: '缺少充电站编号' });
      return null;
    }
    return this.load();
  },

  onShow: function () {
    if (this.data.station) {
      this.watch();
    }
  },

  onHide: function () {
    this.unwatch();
  },

  onUnload: function () {
    this.unwatch();
  },

  load: function () {
    var self = this;
    self.setData({ loading: true, error: '' });
    var tariff = api().stationTariff(self.stationId).then(function (found) {
      self.setData({ tariff: view.tariffView(found), tariffError: found ? '' : '该站点暂未设置电价' });
    }, function (error) {
      self.setData({ tariff: null, tariffError: format.errorText(error) });
    });
    var station = api().station(self.stationId).then(function (found) {
      if (!found) {
        self.setData({ loading: false, error: '未找到该充电站' });
        return;
      }
      var row = view.stationRow(found);
      platform.setTitle(found.name);
      self.setData({ loading: false, station: row, piles: view.pileRows(found.chargePoints) });
      self.watch();
    }, function (error) {
      self.setData({ loading: false, error: format.errorText(error) });
    });
    return Promise.all([station, tariff]);
  },

  watch: function () {
    var self = this;
    if (self.unsubscribe) {
      return;
    }
    self.unsubscribe = api().subscribe('connectorStatus', { stationId: self.stationId }, {
      next: function (update) {
        self.onStatus(update);
      },
      error: function () {
        self.unsubscribe = null;
      },
    });
  },

  unwatch: function () {
    if (this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
  },

  onStatus: function (update) {
    if (!update) {
      return;
    }
    var patch = {};
    if (update.counts && this.data.station) {
      patch.station = view.withCounts(this.data.station, update.counts);
    }
    var cpId = String(update.chargePointId);
    this.data.piles.forEach(function (pile, p) {
      if (pile.id !== cpId) {
        return;
      }
      pile.connectors.forEach(function (connector, c) {
        if (connector.connectorNo === update.connectorNo) {
          var next = Object.assign({}, connector, {
            status: update.status,
            statusLabel: format.connectorStatus(update.status),
            tone: format.statusTone(update.status),
          });
          patch['piles[' + p + '].connectors[' + c + ']'] = next;
        }
      });
    });
    this.setData(patch);
  },

  onRetry: function () {
    return this.load();
  },

  onNavigate: function () {
    var s = this.data.station;
    if (!s) {
      return null;
    }
    return platform.openLocation({
      latitude: s.latitude, longitude: s.longitude, name: s.name, address: s.address,
    }).catch(function () {
      platform.toast('无法打开地图导航');
    });
  },

  onOpenConnector: function (event) {
    var data = view.dataset(event);
    if (!data.cp) {
      return;
    }
    platform.navigateTo('/pages/connector/index?stationId=' + encodeURIComponent(this.stationId) +
      '&chargePointId=' + encodeURIComponent(data.cp) + '&connectorNo=' + encodeURIComponent(data.no));
  },
});
