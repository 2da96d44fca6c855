/**
 * 订单 (tab): the driver's orders, newest first, ten at a time (load more at the bottom, pull down to refresh):
 * status, station (its name comes with each order: one query per page), time, due / paid / refunded. Tap → order page. 对比 mode: pick two charged orders → compare.
 */
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');

var PAGE_SIZE = 10;

function tone(status) {
  if (status === 'SETTLED') return 'free';
  if (status === 'CANCELLED' || status === 'SETTLEMENT_FAILED') return 'off';
  if (status === 'QUARANTINED') return 'fault';
  return 'busy';
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    loggedIn: false,
    orders: [],
    hasMore: false,
    loadingMore: false,
    selecting: false,
    selected: []
  },

  onLoad: function () {
    this.raw = [];
  },

  onShow: function () {
    // a tab page stays alive: read again on every show (a charge may have ended meanwhile), except while the
    // driver is picking orders to compare
    if (!this.data.selecting) this.load();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  onReachBottom: function () {
    this.more();
  },

  load: function () {
    var page = this;
    var api = ui.api();
    var loggedIn = api.isLoggedIn();
    this.setData({ loggedIn: loggedIn, error: '', needLogin: false });
    if (!loggedIn) {
      this.raw = [];
      this.setData({ loading: false, orders: [], hasMore: false, needLogin: true });
      return Promise.resolve();
    }
    this.setData({ loading: true });
    return api.orders({ first: PAGE_SIZE }).then(function (result) {
      page.raw = result.orders;
      page.setData({ loading: false, hasMore: result.hasMore, selected: [] });
      page.render();
    }, function (error) {
      ui.showError(page, error);
    });
  },

  more: function () {
    var page = this;
    if (!this.data.hasMore || this.data.loadingMore || !this.raw.length) return Promise.resolve();
    this.setData({ loadingMore: true });
    var before = this.raw[this.raw.length - 1].id;
    return ui.api().orders({ first: PAGE_SIZE, before: before }).then(function (result) {
      page.raw = page.raw.concat(result.orders);
      page.setData({ loadingMore: false, hasMore: result.hasMore });
      page.render();
    }, function (error) {
      page.setData({ loadingMore: false });
      ui.actionFailed(page, error);
    });
  },

  render: function () {
    var selected = this.data.selected;
    this.setData({
      orders: this.raw.map(function (o) {
        var final = format.isFinalOrder(o.status);
        return {
          id: String(o.id),
          status: o.status,
          statusText: format.orderStatus(o.status),
          tone: tone(o.status),
          stationName: o.stationName || '充电站 ' + o.stationId,
          connector: o.chargePointId + ' · ' + o.connectorNo + ' 号枪',
          time: format.dateTime(o.createdAt),
          paid: money.yuanLabel(o.paidFen),
          due: o.dueFen === null || o.dueFen === undefined ? money.yuanLabel(o.costFen) : money.yuanLabel(o.dueFen),
          dueLabel: final ? '消费' : '当前费用',
          refund: money.yuanLabel(o.refundFen),
          hasRefund: o.refundFen > 0,
          sessionId: o.sessionId ? String(o.sessionId) : '',
          selected: !!o.sessionId && selected.indexOf(String(o.sessionId)) >= 0
        };
      })
    });
  },

  onOrder: function (event) {
    var d = ui.dataset(event);
    if (this.data.selecting) {
      this.toggleSelect(d.session ? String(d.session) : '');
      return;
    }
    var status = d.status;
    var active = status === 'PAID' || status === 'STARTING' || status === 'CHARGING';
    wx.navigateTo({
      url: (active ? '/pages/charging/index?orderId=' : '/pages/order/index?id=') + encodeURIComponent(d.id)
    });
  },

  toggleSelect: function (sessionId) {
    if (!sessionId) {
      ui.platform().toast('该订单没有充电记录，不能对比');
      return;
    }
    var selected = this.data.selected.slice();
    var at = selected.indexOf(sessionId);
    if (at >= 0) selected.splice(at, 1);
    else {
      if (selected.length >= 2) selected.shift();
      selected.push(sessionId);
    }
    this.setData({ selected: selected });
    this.render();
  },

  onToggleSelecting: function () {
    this.setData({ selecting: !this.data.selecting, selected: [] });
    this.render();
  },

  onCompare: function () {
    if (this.data.selected.length !== 2) {
      ui.platform().toast('请选择两笔订单');
      return;
    }
    wx.navigateTo({ url: '/pages/compare/index?ids=' + encodeURIComponent(this.data.selected.join(',')) });
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.load();
  }
});
