/**
 * The QR landing page (the server's landing page and alipays:// links open exactly this path).
 *
 * Entry: `query.qrCode` (a scan), the code App kept from its launch options, `query.scanned` (our scan button),
 * or `stationId` + `chargePointId` + `connectorNo` from the station page. Shows the connector, the price now and
 * its next change; the driver picks a prepaid cap (or the wallet), logs in if needed, and 开始充电 starts the
 * order, pays (my.tradePay, or the sandbox), remembers it as the active order and goes to the charging page.
 */
var platform = require('../../platform.js');
var money = require('../../core/money.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

var CAPS_FEN = [3000, 5000, 10000, 20000];
var DEFAULT_CAP_FEN = 5000;
var STARTABLE = ['AVAILABLE', 'PREPARING'];
var UNDER_WAY = ['PAID', 'STARTING', 'CHARGING'];

function api() {
  return getApp().globalData.api;
}

function connectorView(info) {
  var status = info.pileOnline ? info.status : 'UNKNOWN';
  return {
    stationId: info.stationId ? String(info.stationId) : '',
    stationName: info.stationName || '充电站',
    stationAddress: info.stationAddress || '',
    chargePointId: String(info.chargePointId),
    connectorNo: Number(info.connectorNo),
    kindLabel: format.connectorType(info.kind),
    power: format.kw(info.maxPowerW),
    status: status,
    statusLabel: format.connectorStatus(status),
    tone: format.statusTone(status),
    pileOnline: !!info.pileOnline,
    pileOnlineLabel: info.pileOnline ? '在线' : '离线',
    startable: !!info.pileOnline && STARTABLE.indexOf(info.status) >= 0,
  };
}

Page({
  data: {
    loading: true,
    error: '',
    connector: null,
    tariff: null,
    tariffError: '',
    caps: CAPS_FEN.map(function (fen) {
      return { fen: fen, label: money.yuanLabel(fen).replace('.00', '') };
    }),
    capFen: DEFAULT_CAP_FEN,
    capLabel: money.yuanLabel(DEFAULT_CAP_FEN),
    useWallet: false,
    wallet: null,
    walletHint: '登录后可用',
    methodLabel: '支付宝',
    payHint: '',
    loggedIn: false,
    starting: false,
    canStart: false,
    startLabel: '开始充电',
  },

  onLoad: function (query) {
    var q = query || {};
    var app = getApp();
    var pending = typeof app.takePendingQr === 'function' ? app.takePendingQr() : '';
    var scanned = api().qrFromLaunch(q) || pending;
    this.entry = null;
    if (scanned) {
      this.entry = { scanned: scanned };
    } else if (q.chargePointId && q.connectorNo) {
      this.entry = {
        stationId: q.stationId ? String(q.stationId) : '',
        chargePointId: String(q.chargePointId),
        connectorNo: Number(q.connectorNo),
      };
    }
    this.setData({ loggedIn: api().isLoggedIn() });
    this.refreshHints();
    if (!this.entry) {
      this.setData({ loading: false, error: '请扫描充电桩上的二维码' });
      return null;
    }
    return this.load();
  },

  onShow: function () {
    var loggedIn = api().isLoggedIn();
    if (loggedIn !== this.data.loggedIn) {
      this.setData({ loggedIn: loggedIn });
      this.refreshHints();
    }
    if (loggedIn && this.data.connector) {
      this.loadWallet();
    }
  },

  /** App calls this when a new code arrives while the page is open (hot start). */
  enterScanned: function (scanned) {
    if (!scanned) {
      return null;
    }
    this.entry = { scanned: scanned };
    this.setData({ connector: null, tariff: null });
    return this.load();
  },

  load: function () {
    var self = this;
    self.setData({ loading: true, error: '' });
    return self.resolveConnector().then(function (info) {
      var connector = connectorView(info);
      self.setData({ loading: false, connector: connector });
      self.refreshHints();
      return Promise.all([self.loadTariff(connector.stationId), self.loadMethods(), self.loadWallet()]);
    }, function (error) {
      self.setData({ loading: false, connector: null, error: format.errorText(error) });
    });
  },

  /** The connector the entry names: a scanned code through scannedConnector, else found in its station. */
  resolveConnector: function () {
    var entry = this.entry;
    if (entry.scanned) {
      return api().scannedConnector(entry.scanned);
    }
    if (!entry.stationId) {
      return Promise.reject(new Error('缺少充电站编号'));
    }
    return api().station(entry.stationId).then(function (station) {
      var found = null;
      ((station && station.chargePoints) || []).forEach(function (cp) {
        if (String(cp.id) !== entry.chargePointId) {
          return;
        }
        (cp.connectors || []).forEach(function (c) {
          if (Number(c.connectorNo) === entry.connectorNo) {
            found = {
              stationId: station.id, stationName: station.name, stationAddress: station.address,
              chargePointId: cp.id, connectorNo: c.connectorNo, kind: c.kind, maxPowerW: c.maxPowerW,
              status: c.status, pileOnline: cp.online,
            };
          }
        });
      });
      if (!found) {
        throw new Error('未找到该充电枪');
      }
      return found;
    });
  },

  loadTariff: function (stationId) {
    var self = this;
    if (!stationId) {
      self.setData({ tariff: null, tariffError: '暂无电价信息' });
      return Promise.resolve();
    }
    return api().stationTariff(stationId).then(function (found) {
      self.setData({ tariff: view.tariffView(found), tariffError: found ? '' : '该站点暂未设置电价' });
    }, function (error) {
      self.setData({ tariff: null, tariffError: format.errorText(error) });
    });
  },

  loadMethods: function () {
    var self = this;
    return api().payMethods().then(function (methods) {
      var method = api().chooseMethod(methods, false);
      self.methods = methods;
      self.setData({ methodLabel: method ? format.payMethod(method) : '暂无可用支付方式' });
      self.refreshHints();
    }, function () {
      self.methods = null;
    });
  },

  loadWallet: function () {
    var self = this;
    if (!api().isLoggedIn()) {
      self.setData({ wallet: null });
      self.refreshHints();
      return Promise.resolve();
    }
    return api().wallet(1).then(function (wallet) {
      self.setData({
        wallet: { balanceFen: wallet.balanceFen, available: money.yuanLabel(wallet.balanceFen) },
      });
      self.refreshHints();
    }, function (error) {
      if (api().needsLogin(error)) {
        self.setData({ loggedIn: false, wallet: null, useWallet: false });
      }
      self.refreshHints();
    });
  },

  /** The texts and the button state that follow from the choices (kept out of the template). */
  refreshHints: function () {
    var d = this.data;
    var capLabel = money.yuanLabel(d.capFen);
    var walletHint = '登录后可用';
    if (d.loggedIn) {
      walletHint = d.wallet ? '可用余额 ' + d.wallet.available : '余额加载中…';
    }
    var payHint = d.useWallet ?
      '从钱包预扣 ' + capLabel + '，结束后按实际费用扣款，多余部分退回钱包' :
      '先支付 ' + capLabel + '（' + d.methodLabel + '），结束后按实际费用结算，多余部分原路退回';
    var startable = !!d.connector && d.connector.startable;
    var startLabel = '开始充电';
    if (d.connector && !d.connector.pileOnline) {
      startLabel = '充电桩离线';
    } else if (d.connector && !startable) {
      startLabel = '充电枪' + d.connector.statusLabel;
    }
    this.setData({
      capLabel: capLabel,
      walletHint: walletHint,
      payHint: payHint,
      canStart: startable && !d.starting,
      startLabel: startLabel,
    });
  },

  onSelectCap: function (event) {
    var fen = Number(view.dataset(event).fen);
    if (CAPS_FEN.indexOf(fen) < 0) {
      return;
    }
    this.setData({ capFen: fen, useWallet: false });
    this.refreshHints();
  },

  onToggleWallet: function () {
    if (!this.data.loggedIn) {
      platform.toast('请先登录');
      return;
    }
    this.setData({ useWallet: !this.data.useWallet });
    this.refreshHints();
  },

  onLogin: function () {
    var self = this;
    return api().login().then(function () {
      self.setData({ loggedIn: true });
      self.refreshHints();
      platform.toast('登录成功', 'success');
      return self.loadWallet();
    }, function (error) {
      var fromServer = error && (error.name === 'GraphQLError' || error.name === 'NetworkError');
      platform.toast(fromServer ? format.errorText(error) : '支付宝授权失败，请重试');
    });
  },

  onStart: function () {
    var self = this;
    var d = self.data;
    if (d.starting || !d.connector) {
      return Promise.resolve();
    }
    if (!d.connector.startable) {
      platform.toast(d.connector.pileOnline ? '该充电枪当前不可用' : '充电桩离线，请换一个充电枪');
      return Promise.resolve();
    }
    if (d.useWallet && d.wallet && d.wallet.balanceFen < d.capFen) {
      platform.toast('钱包余额不足，请先充值');
      return Promise.resolve();
    }
    self.setData({ starting: true });
    self.refreshHints();
    var ready = api().isLoggedIn() ? Promise.resolve() : api().login().then(function () {
      self.setData({ loggedIn: true });
    });
    return ready.then(function () {
      return api().charge({
        chargePointId: d.connector.chargePointId,
        connectorNo: d.connector.connectorNo,
        capFen: d.capFen,
        useWallet: d.useWallet,
      });
    }).then(function (result) {
      if (result.payResult === 'paid') {
        return self.goCharging(result.order.id);
      }
      return self.afterUnpaid(result.order, result.payResult);
    }).catch(function (error) {
      if (api().needsLogin(error)) {
        self.setData({ loggedIn: false });
      }
      var fromServer = error && (error.name === 'GraphQLError' || error.name === 'NetworkError');
      platform.toast(fromServer ? format.errorText(error) : '支付宝授权失败，请重试');
    }).then(function () {
      self.setData({ starting: false });
      self.refreshHints();
    });
  },

  /** tradePay did not say 9000 (cancelled, processing, unknown): the server decides whether it was paid. */
  afterUnpaid: function (order, payResult) {
    var self = this;
    return api().order(order.id).then(function (found) {
      if (UNDER_WAY.indexOf(found.status) >= 0) {
        api().store.setActiveOrder(found.id);
        return self.goCharging(found.id);
      }
      platform.toast(payResult === 'cancelled' ? '已取消支付' : '支付未完成，请重试');
      return null;
    }, function () {
      platform.toast(payResult === 'cancelled' ? '已取消支付' : '支付未完成，请重试');
    });
  },

  goCharging: function (orderId) {
    platform.redirectTo('/pages/charging/index?orderId=' + encodeURIComponent(orderId));
  },

  onRetry: function () {
    if (!this.entry) {
      return this.onScan();
    }
    return this.load();
  },

  onScan: function () {
    var self = this;
    return platform.scanCode().then(function (code) {
      return self.enterScanned(code);
    }, function () {
      platform.toast('未扫描到充电桩二维码');
    });
  },
});
