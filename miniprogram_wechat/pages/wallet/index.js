/**
 * 钱包 (tab): balance, the part held for running orders, the latest statement lines; top-up by preset or any
 * amount (¥1.00 to ¥5000.00) → topUpWallet → pay → the balance is read again until the provider's confirmation
 * has credited it.
 */
var format = require('../../core/format.js');
var money = require('../../core/money.js');
var ui = require('../../utils/page.js');

var PRESETS = [5000, 10000, 20000, 50000];
var MIN_FEN = 100;
var MAX_FEN = 500000;
var POLLS = 15;
var POLL_MS = 1000;

function lineView(line) {
  return {
    id: String(line.lineId),
    kindText: format.statementKind(line.kind),
    memo: line.memo,
    at: format.dateTime(line.at),
    amount: (line.amountFen > 0 ? '+' : '') + money.yuan(line.amountFen),
    positive: line.amountFen > 0,
    after: money.yuanLabel(line.balanceAfterFen)
  };
}

Page({
  data: {
    loading: true,
    error: '',
    needLogin: false,
    loggedIn: false,
    balance: money.yuanLabel(0),
    balanceFen: 0,
    held: money.yuanLabel(0),
    hasHeld: false,
    lines: [],
    presets: PRESETS.map(function (fen) { return { fen: fen, label: money.yuanLabel(fen) }; }),
    amountFen: 10000,
    custom: '',
    topping: false,
    confirming: false
  },

  onLoad: function () {
    this.pollTimer = null;
  },

  onShow: function () {
    this.load();
  },

  onHide: function () {
    this.stopPolling();
  },

  onUnload: function () {
    this.stopPolling();
  },

  onPullDownRefresh: function () {
    this.load().then(ui.stopPullDown, ui.stopPullDown);
  },

  load: function () {
    var page = this;
    var api = ui.api();
    var loggedIn = api.isLoggedIn();
    this.setData({ loggedIn: loggedIn, error: '', needLogin: !loggedIn });
    if (!loggedIn) {
      this.setData({ loading: false, lines: [] });
      return Promise.resolve(null);
    }
    this.setData({ loading: !this.data.lines.length });
    return api.wallet(20).then(function (wallet) {
      page.show(wallet);
      return wallet;
    }, function (error) {
      ui.showError(page, error);
      return null;
    });
  },

  show: function (wallet) {
    this.setData({
      loading: false,
      balanceFen: wallet.balanceFen,
      balance: money.yuanLabel(wallet.balanceFen),
      held: money.yuanLabel(wallet.heldFen),
      hasHeld: wallet.heldFen > 0,
      lines: wallet.statement.map(lineView)
    });
  },

  onPreset: function (event) {
    var fen = Number(ui.dataset(event).fen);
    if (PRESETS.indexOf(fen) < 0) return;
    this.setData({ amountFen: fen, custom: '' });
  },

  onCustom: function (event) {
    this.setData({ custom: event.detail.value });
  },

  amount: function () {
    if (!this.data.custom) return this.data.amountFen;
    var fen = money.fenFromYuan(this.data.custom);
    if (fen < MIN_FEN || fen > MAX_FEN) {
      throw new money.MoneyParseError('充值金额需在 ' + money.yuanLabel(MIN_FEN) + ' 到 ' + money.yuanLabel(MAX_FEN) + ' 之间');
    }
    return fen;
  },

  onTopUp: function () {
    var page = this;
    var api = ui.api();
    if (this.data.topping) return Promise.resolve();
    if (!api.isLoggedIn()) {
      ui.goLogin();
      return Promise.resolve();
    }
    var amountFen;
    try {
      amountFen = this.amount();
    } catch (error) {
      ui.platform().toast(format.errorText(error));
      return Promise.resolve();
    }
    var before = this.data.balanceFen;
    this.setData({ topping: true });
    return api.topUp({ amountFen: amountFen }).then(function (result) {
      return api.pay(result.paymentParams);
    }).then(function (outcome) {
      if (outcome !== 'paid') {
        page.setData({ topping: false });
        ui.platform().toast(outcome === 'cancelled' ? '已取消充值' : '支付未成功，请重试');
        return;
      }
      page.setData({ topping: false, confirming: true, custom: '' });
      page.poll(before + amountFen, POLLS);
    }, function (error) {
      page.setData({ topping: false });
      ui.actionFailed(page, error);
    });
  },

  poll: function (expectedFen, left) {
    var page = this;
    this.stopPolling();
    ui.api().wallet(20).then(function (wallet) {
      page.show(wallet);
      if (wallet.balanceFen >= expectedFen) {
        page.setData({ confirming: false });
        ui.platform().toast('充值成功');
      } else if (left > 1) {
        page.pollTimer = setTimeout(function () {
          page.pollTimer = null;
          page.poll(expectedFen, left - 1);
        }, POLL_MS);
      } else {
        page.setData({ confirming: false });
        ui.platform().toast('充值处理中，请稍后下拉刷新');
      }
    }, function (error) {
      page.setData({ confirming: false });
      ui.actionFailed(page, error);
    });
  },

  stopPolling: function () {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  },

  onGoLogin: function () {
    ui.goLogin();
  },

  onRetry: function () {
    this.load();
  }
});
