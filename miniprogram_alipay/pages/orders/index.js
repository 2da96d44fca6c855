/**
 * The driver's orders, newest first, paged by `before` (the last id shown): status, station, time and the
 * paid / used / refunded amounts. A tap opens the order; ticking two orders with sessions opens the comparison.
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

var PAGE_SIZE = 20;

function api() {
  return getApp().globalData.api;
}

Page({
  data: {
    loading: false,
    loadingMore: false,
    error: '',
    needLogin: false,
    orders: [],
    hasMore: false,
    selectedCount: 0,
  },

  onLoad: function () {
    this.raw = [];
    this.selected = [];
  },

  onShow: function () {
    return this.load();
  },

  onPullDownRefresh: function () {
    return this.load().then(function () {
      platform.stopPullDownRefresh();
    });
  },

  onReachBottom: function () {
    return this.onLoadMore();
  },

  load: function () {
    var self = this;
    if (!api().isLoggedIn()) {
      self.raw = [];
      self.selected = [];
      self.setData({ needLogin: true, loading: false, error: '', orders: [], hasMore: false, selectedCount: 0 });
      return Promise.resolve();
    }
    self.setData({ loading: !self.data.orders.length, error: '', needLogin: false });
    return api().orders({ first: PAGE_SIZE }).then(function (page) {
      self.raw = page.orders;
      self.selected = self.selected.filter(function (id) {
        return page.orders.some(function (o) {
          return String(o.id) === id;
        });
      });
      self.setData({ hasMore: page.hasMore });
      return self.render();
    }, function (error) {
      self.fail(error);
    });
  },

  onLoadMore: function () {
    var self = this;
    if (!self.data.hasMore || self.data.loadingMore || !self.raw.length) {
      return Promise.resolve();
    }
    var before = self.raw[self.raw.length - 1].id;
    self.setData({ loadingMore: true });
    return api().orders({ first: PAGE_SIZE, before: before }).then(function (page) {
      self.raw = self.raw.concat(page.orders);
      self.setData({ hasMore: page.hasMore, loadingMore: false });
      return self.render();
    }, function (error) {
      self.setData({ loadingMore: false });
      platform.toast(format.errorText(error));
    });
  },

  fail: function (error) {
    if (api().needsLogin(error)) {
      this.setData({ loading: false, needLogin: true, orders: [], error: '' });
      return;
    }
    this.setData({ loading: false, error: format.errorText(error) });
  },

  /** Rows (each order carries its station's name: one query per page). */
  render: function () {
    var self = this;
    self.setData({
      loading: false,
      orders: self.raw.map(function (o) {
        var row = view.orderRow(o);
        row.selected = self.selected.indexOf(row.id) >= 0;
        return row;
      }),
      selectedCount: self.selected.length,
    });
    return Promise.resolve();
  },

  onOpenOrder: function (event) {
    var id = view.dataset(event).id;
    if (id) {
      platform.navigateTo('/pages/order/index?id=' + encodeURIComponent(id));
    }
  },

  onToggleSelect: function (event) {
    var id = String(view.dataset(event).id || '');
    var at = this.selected.indexOf(id);
    if (at >= 0) {
      this.selected.splice(at, 1);
    } else if (this.selected.length >= 2) {
      platform.toast('最多选择两笔订单');
      return;
    } else {
      this.selected.push(id);
    }
    var selected = this.selected;
    var patch = { selectedCount: selected.length };
    this.data.orders.forEach(function (row, i) {
      var on = selected.indexOf(row.id) >= 0;
      if (on !== row.selected) {
        patch['orders[' + i + '].selected'] = on;
      }
    });
    this.setData(patch);
  },

  onCompare: function () {
    if (this.selected.length !== 2) {
      platform.toast('请选择两笔订单');
      return;
    }
    var sessions = [];
    var self = this;
    self.selected.forEach(function (id) {
      self.raw.forEach(function (o) {
        if (String(o.id) === id && o.sessionId) {
          sessions.push(String(o.sessionId));
        }
      });
    });
    if (sessions.length !== 2) {
      platform.toast('所选订单没有充电记录');
      return;
    }
    platform.navigateTo('/pages/compare/index?sessions=' + encodeURIComponent(sessions.join(',')));
  },

  onRetry: function () {
    return this.load();
  },

  onGoLogin: function () {
    platform.switchTab('/pages/me/index');
  },
});
