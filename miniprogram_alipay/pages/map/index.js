/**
 * Home: stations around the driver on `<map>` (or as a list), live connector counts per station through the
 * connectorStatus subscription, search and filters, scan to charge. Also where a launch lands: a scanned code
 * App holds goes on to the connector page, and a charge still running is resumed on the charging page.
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

var DEMO_CENTRE = { latitude: 30.2741, longitude: 120.1551 };
var RADIUS_M = 5000;
var MAX_WATCHED = 30;
var REGION_DEBOUNCE_MS = 600;
var MIN_MOVE_DEG = 0.003; // ~300 m: smaller map moves keep the stations shown

function api() {
  return getApp().globalData.api;
}

Page({
  data: {
    latitude: DEMO_CENTRE.latitude,
    longitude: DEMO_CENTRE.longitude,
    scale: 13,
    markers: [],
    stations: [],
    selected: null,
    mode: 'map',
    keyword: '',
    filters: [
      { key: 'free', label: '空闲', on: false },
      { key: 'dc', label: '直流', on: false },
      { key: 'ac', label: '交流', on: false },
    ],
    loading: true,
    error: '',
    locationNote: '',
  },

  onLoad: function () {
    this.markerIds = {};
    this.nextMarkerId = 1;
    this.watchers = {};
    this.seq = 0;
    this.regionTimer = null;
    this.centre = null;
    this.locate();
  },

  onShow: function () {
    var app = getApp();
    this.visible = true;
    if (app.globalData.pendingQr) {
      platform.navigateTo('/pages/connector/index');
      return;
    }
    if (typeof app.takeResumeOnLaunch === 'function' && app.takeResumeOnLaunch()) {
      this.resumeCharge();
    }
    if (this.data.stations.length) {
      this.watch(this.data.stations);
    }
  },

  onHide: function () {
    this.visible = false;
    this.unwatchAll();
    this.clearRegionTimer();
  },

  onUnload: function () {
    this.visible = false;
    this.unwatchAll();
    this.clearRegionTimer();
  },

  /** A charge that was running when the app was closed: straight back to it. */
  resumeCharge: function () {
    var self = this;
    return api().resumeActiveOrder().then(function (order) {
      if (order) {
        platform.navigateTo('/pages/charging/index?orderId=' + encodeURIComponent(order.id));
      }
      return order;
    }, function () {
      return null; // offline: the charging page resumes when opened
    }).then(function (order) {
      self.resumed = order;
      return order;
    });
  },

  locate: function () {
    var self = this;
    self.setData({ loading: true, error: '' });
    return platform.getLocation().then(function (position) {
      self.setData({ latitude: position.latitude, longitude: position.longitude, locationNote: '' });
      return position;
    }, function () {
      self.setData({
        latitude: DEMO_CENTRE.latitude,
        longitude: DEMO_CENTRE.longitude,
        locationNote: '未获得定位，显示默认城市中心附近的充电站',
      });
      return DEMO_CENTRE;
    }).then(function (centre) {
      return self.loadNear(centre);
    });
  },

  filter: function () {
    var on = {};
    this.data.filters.forEach(function (f) {
      on[f.key] = f.on;
    });
    var types = [];
    if (on.dc) {
      types = types.concat(format.DC_TYPES);
    }
    if (on.ac) {
      types = types.concat(format.AC_TYPES);
    }
    var name = this.data.keyword.trim();
    return {
      availableNow: !!on.free,
      connectorTypes: types.length ? types : null,
      minPowerW: 0,
      name: name || null,
    };
  },

  loadNear: function (centre) {
    var self = this;
    var seq = ++self.seq;
    self.centre = { latitude: centre.latitude, longitude: centre.longitude };
    self.setData({ loading: true, error: '' });
    return api().stationsNear({
      latitude: centre.latitude,
      longitude: centre.longitude,
      radiusM: RADIUS_M,
      filter: self.filter(),
    }).then(function (stations) {
      if (seq === self.seq) {
        self.show(stations);
      }
    }, function (error) {
      if (seq === self.seq) {
        self.setData({ loading: false, error: format.errorText(error) });
      }
    });
  },

  loadBox: function (box) {
    var self = this;
    var seq = ++self.seq;
    self.setData({ loading: true, error: '' });
    return api().stationsInBox({
      south: box.south, west: box.west, north: box.north, east: box.east, filter: self.filter(),
    }).then(function (stations) {
      if (seq === self.seq) {
        self.show(stations);
      }
    }, function (error) {
      if (seq === self.seq) {
        self.setData({ loading: false, error: format.errorText(error) });
      }
    });
  },

  markerIdFor: function (stationId) {
    if (!this.markerIds[stationId]) {
      this.markerIds[stationId] = this.nextMarkerId++;
    }
    return this.markerIds[stationId];
  },

  show: function (stations) {
    var self = this;
    var rows = stations.map(view.stationRow);
    var markers = rows.map(function (row) {
      return view.marker(row, self.markerIdFor(row.id));
    });
    var selected = null;
    if (self.data.selected) {
      rows.forEach(function (row) {
        if (row.id === self.data.selected.id) {
          selected = row;
        }
      });
    }
    self.setData({ stations: rows, markers: markers, selected: selected, loading: false, error: '' });
    if (self.visible !== false) {
      self.watch(rows);
    }
  },

  /** One connectorStatus subscription per station shown (the nearest MAX_WATCHED); others are dropped. */
  watch: function (rows) {
    var self = this;
    var wanted = {};
    rows.slice(0, MAX_WATCHED).forEach(function (row) {
      wanted[row.id] = true;
    });
    Object.keys(self.watchers).forEach(function (id) {
      if (!wanted[id]) {
        self.watchers[id]();
        delete self.watchers[id];
      }
    });
    Object.keys(wanted).forEach(function (id) {
      if (!self.watchers[id]) {
        self.watchers[id] = api().subscribe('connectorStatus', { stationId: id }, {
          next: function (update) {
            self.onCounts(update);
          },
          error: function () {
            delete self.watchers[id];
          },
        });
      }
    });
  },

  unwatchAll: function () {
    var watchers = this.watchers || {};
    Object.keys(watchers).forEach(function (id) {
      watchers[id]();
    });
    this.watchers = {};
  },

  onCounts: function (update) {
    if (!update || !update.counts) {
      return;
    }
    var id = String(update.stationId);
    var index = -1;
    this.data.stations.forEach(function (row, i) {
      if (row.id === id) {
        index = i;
      }
    });
    if (index < 0) {
      return;
    }
    var row = view.withCounts(this.data.stations[index], update.counts);
    var patch = {};
    patch['stations[' + index + ']'] = row;
    patch['markers[' + index + ']'] = view.marker(row, this.markerIdFor(row.id));
    if (this.data.selected && this.data.selected.id === id) {
      patch.selected = row;
    }
    this.setData(patch);
  },

  rowById: function (id) {
    var found = null;
    this.data.stations.forEach(function (row) {
      if (row.id === String(id)) {
        found = row;
      }
    });
    return found;
  },

  onMarkerTap: function (event) {
    var markerId = view.markerIdOf(event);
    var self = this;
    var found = null;
    Object.keys(self.markerIds).forEach(function (stationId) {
      if (self.markerIds[stationId] === markerId) {
        found = self.rowById(stationId);
      }
    });
    if (found) {
      self.setData({ selected: found });
    }
  },

  onMapTap: function () {
    if (this.data.selected) {
      this.setData({ selected: null });
    }
  },

  onCloseCard: function () {
    this.setData({ selected: null });
  },

  onRegionChange: function (event) {
    var e = event || {};
    var type = e.type || (e.detail && e.detail.type);
    if (type !== 'end' || this.data.loading) {
      return;
    }
    var latitude = Number(e.latitude !== undefined ? e.latitude : e.detail && e.detail.latitude);
    var longitude = Number(e.longitude !== undefined ? e.longitude : e.detail && e.detail.longitude);
    var self = this;
    self.clearRegionTimer();
    self.regionTimer = setTimeout(function () {
      self.regionTimer = null;
      self.regionMoved(latitude, longitude);
    }, REGION_DEBOUNCE_MS);
  },

  /** After the driver moved the map: the stations inside the visible box (or near its centre). */
  regionMoved: function (latitude, longitude) {
    var self = this;
    var centre = self.centre;
    var known = isFinite(latitude) && isFinite(longitude) && (latitude || longitude);
    if (known && centre && Math.abs(latitude - centre.latitude) < MIN_MOVE_DEG &&
        Math.abs(longitude - centre.longitude) < MIN_MOVE_DEG) {
      return Promise.resolve();
    }
    return platform.mapRegion('stationMap').then(function (box) {
      if (known) {
        self.centre = { latitude: latitude, longitude: longitude };
      }
      if (box) {
        return self.loadBox(box);
      }
      return known ? self.loadNear({ latitude: latitude, longitude: longitude }) : null;
    });
  },

  clearRegionTimer: function () {
    if (this.regionTimer) {
      clearTimeout(this.regionTimer);
      this.regionTimer = null;
    }
  },

  onSearchInput: function (event) {
    this.setData({ keyword: view.inputValue(event) });
  },

  onSearch: function () {
    return this.reload();
  },

  onToggleFilter: function (event) {
    var key = view.dataset(event).key;
    var filters = this.data.filters.map(function (f) {
      return f.key === key ? { key: f.key, label: f.label, on: !f.on } : f;
    });
    this.setData({ filters: filters });
    return this.reload();
  },

  reload: function () {
    return this.loadNear(this.centre || { latitude: this.data.latitude, longitude: this.data.longitude });
  },

  onToggleMode: function () {
    this.setData({ mode: this.data.mode === 'map' ? 'list' : 'map' });
  },

  onRetry: function () {
    return this.centre ? this.reload() : this.locate();
  },

  onOpenStation: function (event) {
    var id = view.dataset(event).id;
    if (id) {
      platform.navigateTo('/pages/station/index?id=' + encodeURIComponent(id));
    }
  },

  onNavigateStation: function (event) {
    var row = this.rowById(view.dataset(event).id);
    if (!row) {
      return null;
    }
    return platform.openLocation({
      latitude: row.latitude, longitude: row.longitude, name: row.name, address: row.address,
    }).catch(function () {
      platform.toast('无法打开地图导航');
    });
  },

  onScan: function () {
    return platform.scanCode().then(function (code) {
      platform.navigateTo('/pages/connector/index?scanned=' + encodeURIComponent(code));
    }, function () {
      platform.toast('未扫描到充电桩二维码');
    });
  },
});
