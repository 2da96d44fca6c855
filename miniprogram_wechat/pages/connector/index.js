/**
 * 充电枪 (the QR landing page): the connector named by the scanned QR (query.q, url-encoded) or chosen on the
 * station page (stationId + chargePointId + connectorNo); its station, kind, power, live status, the price now
 * and its next change; the prepaid cap (¥30/¥50/¥100/¥200) or the wallet; login; 开始充电 → pay → charging page.
 */
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');

var CAPS = [3000, 5000, 10000, 20000];
var DEFAULT_CAP = 5000;

function canCharge(status, online) {
  return !!online && (status === 'AVAILABLE' || status === 'PREPARING');
}

function connectorView(c) {
  return {
    stationId: c.stationId ? String(c.stationId) : '',
    stationName: c.stationName,
    stationAddress: c.stationAddress,
    chargePointId: c.chargePointId,
    connectorNo: c.connectorNo,
    kindText: format.connectorType(c.kind),
    power: format.kw(c.maxPowerW),
    status: c.status,
    statusText: c.pileOnline ? format.connectorStatus(c.status) : '充电桩离线',
    tone: c.pileOnline ? format.statusTone(c.status) : 'off',
    pileOnline: c.pileOnline,
    canCharge: canCharge(c.status, c.pileOnline)
  };
}

function fromStation(station, chargePointId, connectorNo) {
  var found = null;
  station.chargePoints.forEach(function (cp) {
    if (cp.id !== chargePointId) return;
    cp.connectors.forEach(function (c) {
      if (c.connectorNo === connectorNo) {
        found = {
          stationId: station.id,
          stationName: station.name,
          stationAddress: station.address,
          chargePointId: cp.id,
          connectorNo: c.connectorNo,
          kind: c.kind,
          maxPowerW: c.maxPowerW,
          status: c.status,
          pileOnline: cp.online
        };
      }
    });
  });
  return found;
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    connector: null,
    priceNow: '',
    nextChange: '',
    caps: CAPS.map(function (fen) { return { fen: fen, label: money.yuanLabel(fen) }; }),
    capFen: DEFAULT_CAP,
    capLabel: money.yuanLabel(DEFAULT_CAP),
    payWith: 'provider',
    providerText: '',
    walletListed: false,
    balanceFen: 0,
    balanceText: '',
    walletEnough: false,
    loggedIn: false,
    starting: false
  },

  onLoad: function (query) {
    this.query = query || {};
    this.unsubscribe = null;
    this.load();
  },

  onShow: function () {
    this.setData({ loggedIn: ui.api().isLoggedIn() });
    if (this.data.connector) this.watch();
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

  resolveConnector: function () {
    var api = ui.api();
    var query = this.query;
    var scanned = api.qrFromLaunch(query);
    if (!scanned && query.chargePointId) {
      var chargePointId = decodeURIComponent(String(query.chargePointId));
      var connectorNo = Number(query.connectorNo);
      return api.station(decodeURIComponent(String(query.stationId || ''))).then(function (station) {
        var found = station ? fromStation(station, chargePointId, connectorNo) : null;
        if (!found) throw new Error('未找到该充电枪');
        return found;
      });
    }
    if (!scanned) scanned = ui.app().launchQr;
    if (!scanned) return Promise.reject(new Error('请扫描充电桩上的二维码'));
    ui.app().launchQr = '';
    return api.scannedConnector(scanned);
  },

  load: function () {
    var page = this;
    var api = ui.api();
    this.setData({ loading: true, error: '', loggedIn: api.isLoggedIn() });
    return this.resolveConnector().then(function (connector) {
      var view = connectorView(connector);
      page.setData({ connector: view });
      wx.setNavigationBarTitle({ title: view.stationName || '充电' });
      page.watch();
      return Promise.all([
        view.stationId ? api.stationTariff(view.stationId) : Promise.resolve(null),
        api.payMethods(),
        page.loadWallet()
      ]);
    }).then(function (results) {
      var tariff = results[0];
      var methods = results[1];
      var provider = api.chooseMethod(methods, false);
      page.setData({
        loading: false,
        priceNow: tariff ? tariff.price.display : '暂无电价',
        nextChange: tariff && tariff.nextChangeAt
          ? format.time(tariff.nextChangeAt) + ' 起 ' + (tariff.nextPrice ? tariff.nextPrice.display : '')
          : '',
        providerText: provider ? format.payMethod(provider) : '',
        walletListed: methods.indexOf('WALLET') >= 0,
        payWith: provider ? page.data.payWith : 'wallet'
      });
    }, function (error) {
      if (error && !error.code && error.name !== 'NetworkError') {
        page.setData({ loading: false, error: error.message });
        return;
      }
      ui.showError(page, error);
    });
  },

  loadWallet: function () {
    var page = this;
    var api = ui.api();
    if (!api.isLoggedIn()) return Promise.resolve(null);
    return api.wallet(1).then(function (wallet) {
      page.setData({
        balanceFen: wallet.balanceFen,
        balanceText: money.yuanLabel(wallet.balanceFen),
        walletEnough: wallet.balanceFen >= page.data.capFen,
        loggedIn: api.isLoggedIn()
      });
      return wallet;
    }, function (error) {
      if (api.needsLogin(error)) page.setData({ loggedIn: false });
      return null;
    });
  },

  watch: function () {
    var page = this;
    var c = this.data.connector;
    if (this.unsubscribe || !c || !c.stationId) return;
    this.unsubscribe = ui.api().subscribe('connectorStatus', { stationId: c.stationId }, {
      next: function (update) {
        var current = page.data.connector;
        if (!current || update.chargePointId !== current.chargePointId || update.connectorNo !== current.connectorNo) {
          return;
        }
        page.setData({
          'connector.status': update.status,
          'connector.statusText': format.connectorStatus(update.status),
          'connector.tone': format.statusTone(update.status),
          'connector.canCharge': canCharge(update.status, current.pileOnline)
        });
      },
      error: function () { page.unsubscribe = null; }
    });
  },

  unwatch: function () {
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
  },

  onSelectCap: function (event) {
    var fen = Number(ui.dataset(event).fen);
    if (CAPS.indexOf(fen) < 0) return;
    this.setData({
      capFen: fen,
      capLabel: money.yuanLabel(fen),
      walletEnough: this.data.balanceFen >= fen
    });
  },

  onPayWith: function (event) {
    var how = ui.dataset(event).how;
    if (how !== 'wallet' && how !== 'provider') return;
    if (how === 'provider' && !this.data.providerText) return;
    this.setData({ payWith: how });
  },

  onLogin: function () {
    var page = this;
    return ui.api().login().then(function (me) {
      page.setData({ loggedIn: true, needLogin: false });
      ui.platform().toast('已登录：' + me.name);
      return page.loadWallet();
    }, function (error) {
      ui.actionFailed(page, error);
    });
  },

  onStart: function () {
    var page = this;
    var c = this.data.connector;
    if (!c || this.data.starting) return Promise.resolve();
    if (!c.canCharge) {
      ui.platform().toast(c.pileOnline ? '该充电枪当前不可用，请插好充电枪或更换充电枪' : '充电桩离线，请更换充电桩');
      return Promise.resolve();
    }
    var useWallet = this.data.payWith === 'wallet';
    if (useWallet && this.data.loggedIn && !this.data.walletEnough) {
      ui.platform().toast('钱包余额不足，请先充值或改用其他支付方式');
      return Promise.resolve();
    }
    this.setData({ starting: true });
    var api = ui.api();
    var ready = api.isLoggedIn() ? Promise.resolve() : api.login().then(function () {
      page.setData({ loggedIn: true, needLogin: false });
    });
    return ready.then(function () {
      return api.charge({
        chargePointId: c.chargePointId,
        connectorNo: c.connectorNo,
        capFen: page.data.capFen,
        useWallet: useWallet
      });
    }).then(function (result) {
      page.setData({ starting: false });
      if (result.payResult === 'paid') {
        wx.redirectTo({ url: '/pages/charging/index?orderId=' + encodeURIComponent(result.order.id) });
      } else if (result.payResult === 'cancelled') {
        ui.platform().toast('已取消支付，未开始充电');
      } else {
        ui.platform().toast('支付未成功，请重试');
      }
    }, function (error) {
      page.setData({ starting: false });
      ui.actionFailed(page, error);
    });
  },

  onWallet: function () {
    wx.switchTab({ url: '/pages/wallet/index' });
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.load();
  }
});
