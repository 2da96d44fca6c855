/**
 * 地图 (home): stations around the driver on a <map> (one marker per station, coloured by free connectors),
 * live counts through connectorStatus subscriptions, a card for the tapped marker, a list view, search by
 * name, filters (空闲 / 直流 / 交流), the scan button, and a banner back to a charge in progress.
 */
var format = require('../../core/format.js');
var ui = require('../../utils/page.js');

var CITY_CENTRE = { latitude: 30.2741, longitude: 120.1551 };
var RADIUS_M = 20000;
var MAX_WATCHED = 30;

function markerId(station, index) {
  var id = Number(station.id);
  return isFinite(id) && id > 0 ? id : index + 1;
}

function stationView(station) {
  var counts = station.connectorCounts;
  return {
    id: String(station.id),
    name: station.name,
    address: station.address,
    openingHours: station.openingHours,
    kindText: format.stationKind(station.kind),
    latitude: station.latitude,
    longitude: station.longitude,
    distance: station.distanceM === null || station.distanceM === undefined ? '' : format.distance(station.distanceM),
    available: counts.available,
    total: counts.total,
    countsText: format.countsLabel(counts),
    detailText: '空闲 ' + counts.available + ' · 充电中 ' + counts.charging + ' · 故障 ' + counts.faulted,
    tone: format.stationTone(counts)
  };
}

function marker(view, index) {
  return {
    id: markerId(view, index),
    latitude: view.latitude,
    longitude: view.longitude,
    title: view.name,
    iconPath: '/images/pin-' + view.tone + '.png',
    width: 30,
    height: 36,
    label: {
      content: view.available + '/' + view.total,
      color: '#1f2329',
      fontSize: 11,
      bgColor: '#ffffff',
      borderRadius: 4,
      padding: 2,
      anchorX: -12,
      anchorY: -58,
      textAlign: 'center'
    },
    callout: {
      content: view.name + '\n' + view.countsText,
      color: '#1f2329',
      fontSize: 12,
      borderRadius: 6,
      padding: 8,
      bgColor: '#ffffff',
      display: 'BYCLICK'
    }
  };
}

Page({
  data: {
    latitude: CITY_CENTRE.latitude,
    longitude: CITY_CENTRE.longitude,
    scale: 13,
    markers: [],
    stations: [],
    selected: null,
    mode: 'map',
    keyword: '',
    onlyFree: false,
    kind: '',
    loading: true,
    error: '',
    needLogin: false,
    located: false,
    activeOrderId: ''
  },

  onLoad: function () {
    this.views = [];
    this.watched = {};
    this.hidden = false;
    var page = this;
    this.locate().then(function () {
      return page.load();
    });
  },

  onShow: function () {
    var page = this;
    if (this.hidden) {
      this.hidden = false;
      this.watch(this.views);
    }
    ui.api().resumeActiveOrder().then(function (order) {
      page.setData({ activeOrderId: order ? String(order.id) : '' });
    }, function () {
      page.setData({ activeOrderId: '' });
    });
  },

  onHide: function () {
    this.hidden = true;
    this.unwatchAll();
  },

  onUnload: function () {
    this.unwatchAll();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  locate: function () {
    var page = this;
    return ui.platform().getLocation().then(function (position) {
      page.setData({ latitude: position.latitude, longitude: position.longitude, located: true });
    }, function () {
      page.setData({ latitude: CITY_CENTRE.latitude, longitude: CITY_CENTRE.longitude, located: false });
      ui.platform().toast('未获取到定位，显示市中心附近的充电站');
    });
  },

  filter: function () {
    var filter = { availableNow: this.data.onlyFree };
    if (this.data.kind === 'dc') filter.connectorTypes = format.DC_TYPES;
    if (this.data.kind === 'ac') filter.connectorTypes = format.AC_TYPES;
    var name = this.data.keyword.trim();
    if (name) filter.name = name;
    return filter;
  },

  load: function () {
    var page = this;
    this.setData({ loading: true, error: '' });
    return ui.api().stationsNear({
      latitude: this.data.latitude,
      longitude: this.data.longitude,
      radiusM: RADIUS_M,
      filter: this.filter()
    }).then(function (stations) {
      page.show(stations);
    }, function (error) {
      ui.showError(page, error);
    });
  },

  loadBox: function (region) {
    var page = this;
    return ui.api().stationsInBox({
      south: region.southwest.latitude,
      west: region.southwest.longitude,
      north: region.northeast.latitude,
      east: region.northeast.longitude,
      filter: this.filter()
    }).then(function (stations) {
      page.show(stations);
    }, function (error) {
      ui.showError(page, error);
    });
  },

  show: function (stations) {
    this.views = stations.map(stationView);
    var selected = this.data.selected;
    var still = selected ? this.views.filter(function (v) { return v.id === selected.id; })[0] : null;
    this.setData({
      loading: false,
      error: '',
      stations: this.views,
      markers: this.views.map(marker),
      selected: still || null
    });
    if (!this.hidden) this.watch(this.views);
  },

  watch: function (views) {
    var page = this;
    var wanted = {};
    views.slice(0, MAX_WATCHED).forEach(function (view) { wanted[view.id] = true; });
    Object.keys(this.watched).forEach(function (id) {
      if (!wanted[id]) {
        page.watched[id]();
        delete page.watched[id];
      }
    });
    Object.keys(wanted).forEach(function (id) {
      if (page.watched[id]) return;
      page.watched[id] = ui.api().subscribe('connectorStatus', { stationId: id }, {
        next: function (update) { page.onCounts(update); },
        error: function () { delete page.watched[id]; }
      });
    });
  },

  unwatchAll: function () {
    var watched = this.watched || {};
    Object.keys(watched).forEach(function (id) { watched[id](); });
    this.watched = {};
  },

  onCounts: function (update) {
    var id = String(update.stationId);
    var changed = false;
    this.views = this.views.map(function (view) {
      if (view.id !== id) return view;
      changed = true;
      var counts = update.counts;
      var next = Object.assign({}, view, {
        available: counts.available,
        total: counts.total,
        countsText: format.countsLabel(counts),
        detailText: '空闲 ' + counts.available + ' · 充电中 ' + counts.charging + ' · 故障 ' + counts.faulted,
        tone: format.stationTone(counts)
      });
      return next;
    });
    if (!changed) return;
    var selected = this.data.selected;
    var data = { stations: this.views, markers: this.views.map(marker) };
    if (selected && selected.id === id) {
      data.selected = this.views.filter(function (v) { return v.id === id; })[0];
    }
    this.setData(data);
  },

  onMarkerTap: function (event) {
    var id = event && event.detail && event.detail.markerId !== undefined ? event.detail.markerId : event.markerId;
    var index = -1;
    this.data.markers.forEach(function (m, i) {
      if (m.id === Number(id)) index = i;
    });
    if (index < 0) return;
    this.setData({ selected: this.views[index] });
  },

  onCloseCard: function () {
    this.setData({ selected: null });
  },

  onRegionChange: function (event) {
    var detail = (event && event.detail) || {};
    var type = event.type === 'end' || detail.type === 'end';
    var cause = event.causedBy || detail.causedBy;
    if (!type || (cause !== 'drag' && cause !== 'scale') || !detail.region) return;
    this.loadBox(detail.region);
  },

  onToggleMode: function () {
    this.setData({ mode: this.data.mode === 'map' ? 'list' : 'map' });
  },

  onKeyword: function (event) {
    this.setData({ keyword: event.detail.value });
  },

  onSearch: function () {
    this.load();
  },

  onClearSearch: function () {
    this.setData({ keyword: '' });
    this.load();
  },

  onToggleFree: function () {
    this.setData({ onlyFree: !this.data.onlyFree });
    this.load();
  },

  onKind: function (event) {
    var kind = ui.dataset(event).kind;
    this.setData({ kind: this.data.kind === kind ? '' : kind });
    this.load();
  },

  onStation: function (event) {
    var id = ui.dataset(event).id || (this.data.selected && this.data.selected.id);
    if (!id) return;
    wx.navigateTo({ url: '/pages/station/index?id=' + encodeURIComponent(id) });
  },

  onScan: function () {
    ui.platform().scanCode().then(function (scanned) {
      if (!scanned) return;
      wx.navigateTo({ url: '/pages/connector/index?scanned=' + encodeURIComponent(scanned) });
    }, function () {
      // cancelled by the driver
    });
  },

  onActiveOrder: function () {
    wx.navigateTo({ url: '/pages/charging/index?orderId=' + encodeURIComponent(this.data.activeOrderId) });
  },

  onRetry: function () {
    this.load();
  }
});
