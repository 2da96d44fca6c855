/**
 * The driver: log in with Alipay (my.getAuthCode auth_base → loginWithAlipay; the token is kept in storage),
 * name, vehicles (add with plate and/or VIN, remove), own charging cards, log out. Other pages send a driver
 * here when the server answers UNAUTHENTICATED.
 */
var platform = require('../../platform.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

var CARD_TONE = { ACCEPTED: 'free', BLOCKED: 'fault', EXPIRED: 'off' };

function api() {
  return getApp().globalData.api;
}

function cardRow(card) {
  var note = '';
  if (card.status === 'BLOCKED' && card.blockedReason) {
    note = '停用原因：' + card.blockedReason;
  } else if (card.expiresAt) {
    note = '有效期至 ' + format.date(card.expiresAt);
  }
  return {
    tag: card.tag,
    kindLabel: format.idTagKind(card.kind),
    statusLabel: format.idTagStatus(card.status),
    tone: CARD_TONE[card.status] || 'off',
    note: note,
  };
}

function vehicleRow(v) {
  return { id: String(v.id), plate: v.plate || '', vin: v.vin || '' };
}

Page({
  data: {
    loggedIn: false,
    loggingIn: false,
    loading: false,
    error: '',
    name: '',
    initial: '',
    vehicles: [],
    cards: [],
    plate: '',
    vin: '',
    formError: '',
    adding: false,
  },

  onShow: function () {
    return this.load();
  },

  showName: function (name) {
    var text = name || '充电用户';
    this.setData({ name: text, initial: text.charAt(0) });
  },

  load: function () {
    var self = this;
    if (!api().isLoggedIn()) {
      self.setData({ loggedIn: false, vehicles: [], cards: [], error: '', loading: false });
      return Promise.resolve(null);
    }
    var viewer = api().store.getViewer();
    self.setData({ loggedIn: true, loading: !self.data.name, error: '' });
    if (viewer) {
      self.showName(viewer.name);
    }
    return Promise.all([api().me(), api().cards()]).then(function (found) {
      var me = found[0];
      if (!me) {
        self.setData({ loggedIn: false, loading: false });
        return null;
      }
      self.showName(me.name);
      self.setData({
        loading: false,
        vehicles: (me.vehicles || []).map(vehicleRow),
        cards: (found[1] || []).map(cardRow),
      });
      return me;
    }, function (error) {
      if (api().needsLogin(error)) {
        self.setData({ loggedIn: false, loading: false });
        return null;
      }
      self.setData({ loading: false, error: format.errorText(error) });
      return null;
    });
  },

  onLogin: function () {
    var self = this;
    if (self.data.loggingIn) {
      return Promise.resolve();
    }
    self.setData({ loggingIn: true });
    return api().login().then(function (me) {
      self.setData({ loggingIn: false });
      platform.toast('登录成功', 'success');
      self.showName(me && me.name);
      return self.load();
    }, function (error) {
      self.setData({ loggingIn: false });
      var fromServer = error && (error.name === 'GraphQLError' || error.name === 'NetworkError');
      platform.toast(fromServer ? format.errorText(error) : '支付宝授权失败，请重试');
    });
  },

  onPlateInput: function (event) {
    this.setData({ plate: view.inputValue(event), formError: '' });
  },

  onVinInput: function (event) {
    this.setData({ vin: view.inputValue(event), formError: '' });
  },

  onAddVehicle: function () {
    var self = this;
    if (self.data.adding) {
      return Promise.resolve();
    }
    var checked = view.checkVehicle(self.data.plate, self.data.vin);
    if (checked.error) {
      self.setData({ formError: checked.error });
      return Promise.resolve();
    }
    self.setData({ adding: true, formError: '' });
    return api().addVehicle({ plate: checked.plate, vin: checked.vin }).then(function (vehicle) {
      self.setData({
        adding: false,
        plate: '',
        vin: '',
        vehicles: self.data.vehicles.concat([vehicleRow(vehicle)]),
      });
      platform.toast('已添加车辆', 'success');
    }, function (error) {
      self.setData({ adding: false, formError: format.errorText(error) });
    });
  },

  onRemoveVehicle: function (event) {
    var self = this;
    var id = String(view.dataset(event).id || '');
    if (!id) {
      return Promise.resolve();
    }
    return platform.confirm('删除车辆', '确定从列表中删除这辆车吗？').then(function (ok) {
      if (!ok) {
        return null;
      }
      return api().removeVehicle(id).then(function () {
        self.setData({
          vehicles: self.data.vehicles.filter(function (v) {
            return v.id !== id;
          }),
        });
        platform.toast('已删除');
      }, function (error) {
        platform.toast(format.errorText(error));
      });
    });
  },

  onLogout: function () {
    var self = this;
    return platform.confirm('退出登录', '退出后需要重新授权登录，确定退出吗？').then(function (ok) {
      if (!ok) {
        return null;
      }
      return api().logout().then(function () {
        self.setData({ loggedIn: false, name: '', initial: '', vehicles: [], cards: [], plate: '', vin: '' });
        platform.toast('已退出登录');
      });
    });
  },

  onRetry: function () {
    return this.load();
  },
});
