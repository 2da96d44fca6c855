/**
 * 充电站: name, address, opening hours, kind, piles and their connectors with live status (connectorStatus
 * subscription), the day's tariff table (current period highlighted), 导航 (open the location), and a tap on a
 * free connector goes to the connector page.
 */
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');

function connectorView(connector, pileOnline) {
  var status = pileOnline ? connector.status : 'UNKNOWN';
  return {
    key: connector.chargePointId + '/' + connector.connectorNo,
    chargePointId: connector.chargePointId,
    connectorNo: connector.connectorNo,
    kindText: format.connectorType(connector.kind),
    power: format.kw(connector.maxPowerW),
    status: status,
    statusText: format.connectorStatus(status),
    tone: format.statusTone(status),
    canCharge: pileOnline && (status === 'AVAILABLE' || status === 'PREPARING')
  };
}

function tariffView(stationTariff, nowMs) {
  if (!stationTariff) return null;
  var tariff = stationTariff.tariff;
  var current = format.periodIndexAt(tariff.periods, nowMs);
  return {
    kindText: format.tariffKind(tariff.kind),
    hourly: tariff.kind === 'HOURLY' ? tariff.hourlyDisplay || '' : '',
    note: tariff.note,
    idleFee: tariff.idleFee ? tariff.idleFee.display : '',
    priceNow: stationTariff.price.display,
    nextChange: stationTariff.nextChangeAt
      ? format.time(stationTariff.nextChangeAt) + ' 起 ' + (stationTariff.nextPrice ? stationTariff.nextPrice.display : '')
      : '',
    periods: tariff.periods.map(function (p, index) {
      return {
        span: p.start + '-' + p.end,
        tierText: format.tariffTier(p.tier),
        tier: p.tier,
        electricity: money.priceE4(p.electricityPriceE4),
        service: money.priceE4(p.servicePriceE4),
        total: money.priceE4(p.totalPriceE4),
        current: index === current
      };
    })
  };
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    station: null,
    piles: [],
    tariff: null
  },

  onLoad: function (query) {
    this.stationId = String((query && query.id) || '');
    this.unsubscribe = null;
    this.load();
  },

  onShow: function () {
    if (this.loaded) this.watch();
  },

  onHide: function () {
    this.unwatch();
  },

  onUnload: function () {
    this.unwatch();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  load: function () {
    var page = this;
    var api = ui.api();
    if (!this.stationId) {
      this.setData({ loading: false, error: '缺少充电站参数' });
      return Promise.resolve();
    }
    this.setData({ loading: true, error: '' });
    return Promise.all([api.station(this.stationId), api.stationTariff(this.stationId)]).then(function (results) {
      var station = results[0];
      if (!station) {
        page.setData({ loading: false, error: '未找到该充电站' });
        return;
      }
      page.station = station;
      page.setData({
        loading: false,
        station: {
          id: String(station.id),
          name: station.name,
          address: station.address,
          city: station.city,
          openingHours: station.openingHours,
          kindText: format.stationKind(station.kind),
          countsText: format.countsLabel(station.connectorCounts),
          latitude: station.latitude,
          longitude: station.longitude
        },
        piles: station.chargePoints.map(function (cp) {
          return {
            id: cp.id,
            online: cp.online,
            onlineText: cp.online ? '在线' : '离线',
            connectors: cp.connectors.map(function (c) { return connectorView(c, cp.online); })
          };
        }),
        tariff: tariffView(results[1], Date.now())
      });
      wx.setNavigationBarTitle({ title: station.name });
      page.loaded = true;
      page.watch();
    }, function (error) {
      ui.showError(page, error);
    });
  },

  watch: function () {
    var page = this;
    if (this.unsubscribe || !this.stationId) return;
    this.unsubscribe = ui.api().subscribe('connectorStatus', { stationId: this.stationId }, {
      next: function (update) { page.onStatus(update); },
      error: function () { page.unsubscribe = null; }
    });
  },

  unwatch: function () {
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
  },

  onStatus: function (update) {
    var data = {};
    if (this.data.station) data['station.countsText'] = format.countsLabel(update.counts);
    this.data.piles.forEach(function (pile, p) {
      if (pile.id !== update.chargePointId) return;
      pile.connectors.forEach(function (connector, c) {
        if (connector.connectorNo !== update.connectorNo) return;
        var next = connectorView({
          chargePointId: connector.chargePointId,
          connectorNo: connector.connectorNo,
          kind: null,
          maxPowerW: null,
          status: update.status
        }, true);
        next.kindText = connector.kindText;
        next.power = connector.power;
        data['piles[' + p + '].connectors[' + c + ']'] = next;
      });
    });
    this.setData(data);
  },

  onConnector: function (event) {
    var d = ui.dataset(event);
    if (!d.can) {
      ui.platform().toast('该充电枪当前不可用');
      return;
    }
    wx.navigateTo({
      url: '/pages/connector/index?stationId=' + encodeURIComponent(this.stationId) +
        '&chargePointId=' + encodeURIComponent(d.cp) + '&connectorNo=' + d.no
    });
  },

  onNavigate: function () {
    var s = this.data.station;
    if (!s) return;
    ui.platform().openLocation({ latitude: s.latitude, longitude: s.longitude, name: s.name, address: s.address });
  },

  onRetry: function () {
    this.load();
  }
});
