/**
 * 我的 (tab): WeChat login (wx.login → loginWithWechat), the driver's name, vehicles (add by plate and/or VIN,
 * remove), the driver's own charging cards, shortcuts to orders and wallet, and logout.
 */
var format = require('../../core/format.js');
var ui = require('../../utils/page.js');

var VIN = /^[A-HJ-NPR-Z0-9]{17}$/;

function cardView(tag) {
  return {
    tag: tag.tag,
    kindText: format.idTagKind(tag.kind),
    statusText: format.idTagStatus(tag.status),
    ok: tag.status === 'ACCEPTED',
    expires: tag.expiresAt ? '有效期至 ' + format.date(tag.expiresAt) : '',
    blockedReason: tag.blockedReason
  };
}

Page({
  data: {
    loading: false,
    error: '',
    needLogin: false,
    loggedIn: false,
    loggingIn: false,
    name: '',
    vehicles: [],
    cards: [],
    plate: '',
    vin: '',
    adding: false
  },

  onShow: function () {
    this.load();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  load: function () {
    var page = this;
    var api = ui.api();
    if (!api.isLoggedIn()) {
      this.setData({ loggedIn: false, loading: false, error: '', name: '', vehicles: [], cards: [] });
      return Promise.resolve();
    }
    var cached = api.store.getViewer();
    this.setData({ loggedIn: true, loading: true, error: '', name: cached ? cached.name : '' });
    return Promise.all([api.me(), api.cards()]).then(function (results) {
      var me = results[0];
      if (!me) {
        page.setData({ loggedIn: false, loading: false, name: '', vehicles: [], cards: [] });
        return;
      }
      page.setData({
        loading: false,
        name: me.name,
        vehicles: me.vehicles.map(function (v) {
          return { id: String(v.id), plate: v.plate || '', vin: v.vin || '' };
        }),
        cards: results[1].map(cardView)
      });
    }, function (error) {
      if (api.needsLogin(error)) {
        page.setData({ loggedIn: false, loading: false });
        return;
      }
      ui.showError(page, error);
    });
  },

  onLogin: function () {
    var page = this;
    if (this.data.loggingIn) return Promise.resolve();
    this.setData({ loggingIn: true });
    return ui.api().login().then(function (me) {
      page.setData({ loggingIn: false });
      ui.platform().toast('欢迎，' + me.name);
      return page.load();
    }, function (error) {
      page.setData({ loggingIn: false });
      ui.actionFailed(page, error);
    });
  },

  onPlate: function (event) {
    this.setData({ plate: event.detail.value });
  },

  onVin: function (event) {
    this.setData({ vin: event.detail.value });
  },

  onAddVehicle: function () {
    var page = this;
    var plate = this.data.plate.replace(/\s+/g, '').toUpperCase();
    var vin = this.data.vin.replace(/\s+/g, '').toUpperCase();
    if (!plate && !vin) {
      ui.platform().toast('请填写车牌号或车架号（VIN）');
      return Promise.resolve();
    }
    if (vin && !VIN.test(vin)) {
      ui.platform().toast('车架号应为 17 位字母或数字（不含 I、O、Q）');
      return Promise.resolve();
    }
    if (this.data.adding) return Promise.resolve();
    this.setData({ adding: true });
    return ui.api().addVehicle({ plate: plate, vin: vin }).then(function () {
      page.setData({ adding: false, plate: '', vin: '' });
      ui.platform().toast('已添加车辆');
      return page.load();
    }, function (error) {
      page.setData({ adding: false });
      ui.actionFailed(page, error);
    });
  },

  onRemoveVehicle: function (event) {
    var page = this;
    var d = ui.dataset(event);
    return ui.platform().confirm('删除车辆', '确定删除 ' + (d.label || '这辆车') + ' 吗？').then(function (ok) {
      if (!ok) return null;
      return ui.api().removeVehicle(d.id).then(function () {
        ui.platform().toast('已删除');
        return page.load();
      }, function (error) {
        ui.actionFailed(page, error);
      });
    });
  },

  onLogout: function () {
    var page = this;
    return ui.platform().confirm('退出登录', '退出后需要重新登录才能充电').then(function (ok) {
      if (!ok) return null;
      return ui.api().logout().then(function () {
        return page.load();
      });
    });
  },

  onOrders: function () {
    wx.switchTab({ url: '/pages/orders/index' });
  },

  onWallet: function () {
    wx.switchTab({ url: '/pages/wallet/index' });
  },

  onRetry: function () {
    this.load();
  }
});
