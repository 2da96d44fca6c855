/**
 * The wallet: balance, what running charges hold, the statement, and top-up (presets or an amount in yuan)
 * → topUpWallet → pay (my.tradePay or the sandbox) → the balance is polled until the provider's confirmation
 * has credited it (a few tries).
 */
var platform = require('../../platform.js');
var money = require('../../core/money.js');
var format = require('../../core/format.js');
var view = require('../../utils/view.js');

var PRESETS_FEN = [5000, 10000, 20000, 50000];
var DEFAULT_FEN = 10000;
var POLL_TRIES = 8;
var POLL_MS = 1000;
var MAX_TOP_UP_FEN = 500000;

function api() {
  return getApp().globalData.api;
}

function lineRow(line) {
  return {
    id: String(line.lineId),
    kindLabel: format.statementKind(line.kind),
    memo: line.memo || '',
    time: format.dateTime(line.at),
    amount: (line.amountFen > 0 ? '+' : '') + money.yuanLabel(line.amountFen),
    positive: line.amountFen > 0,
    balanceAfter: money.yuanLabel(line.balanceAfterFen),
  };
}

Page({
  data: {
    loading: false,
    error: '',
    needLogin: false,
    wallet: null,
    lines: [],
    presets: PRESETS_FEN.map(function (fen) {
      return { fen: fen, label: money.yuanLabel(fen).replace('.00', '') };
    }),
    amountFen: DEFAULT_FEN,
    amountLabel: money.yuanLabel(DEFAULT_FEN),
    customText: '',
    customError: '',
    methodLabel: '支付宝',
    topping: false,
  },

  onLoad: function () {
    this.pollTimer = null;
  },

  onShow: function () {
    return this.load();
  },

  onHide: function () {
    this.stopPolling();
  },

  onUnload: function () {
    this.stopPolling();
  },

  onPullDownRefresh: function () {
    return this.load().then(function () {
      platform.stopPullDownRefresh();
    });
  },

  load: function () {
    var self = this;
    if (!api().isLoggedIn()) {
      self.setData({ needLogin: true, loading: false, error: '', wallet: null, lines: [] });
      return Promise.resolve(null);
    }
    self.setData({ loading: !self.data.wallet, error: '', needLogin: false });
    api().payMethods().then(function (methods) {
      var method = api().chooseMethod(methods, false);
      self.setData({ methodLabel: method ? format.payMethod(method) : '暂无可用支付方式' });
    }, function () {
      return null;
    });
    return api().wallet(20).then(function (wallet) {
      self.show(wallet);
      return wallet;
    }, function (error) {
      if (api().needsLogin(error)) {
        self.setData({ loading: false, needLogin: true, wallet: null, lines: [] });
      } else {
        self.setData({ loading: false, error: format.errorText(error) });
      }
      return null;
    });
  },

  show: function (wallet) {
    this.setData({
      loading: false,
      wallet: {
        balanceFen: wallet.balanceFen,
        balance: money.yuanLabel(wallet.balanceFen),
        held: money.yuanLabel(wallet.heldFen),
        hasHeld: wallet.heldFen > 0,
      },
      lines: (wallet.statement || []).map(lineRow),
    });
  },

  onSelectPreset: function (event) {
    var fen = Number(view.dataset(event).fen);
    if (PRESETS_FEN.indexOf(fen) < 0) {
      return;
    }
    this.setData({ amountFen: fen, amountLabel: money.yuanLabel(fen), customText: '', customError: '' });
  },

  onCustomInput: function (event) {
    var text = view.inputValue(event).trim();
    if (!text) {
      this.setData({ customText: '', customError: '', amountFen: DEFAULT_FEN, amountLabel: money.yuanLabel(DEFAULT_FEN) });
      return;
    }
    var fen = 0;
    var problem = '';
    try {
      fen = money.fenFromYuan(text);
    } catch (e) {
      problem = '请输入正确的金额，最多两位小数';
    }
    if (!problem && (fen < 100 || fen > MAX_TOP_UP_FEN)) {
      problem = '充值金额为 ¥1.00 至 ' + money.yuanLabel(MAX_TOP_UP_FEN);
    }
    this.setData({
      customText: text,
      customError: problem,
      amountFen: problem ? 0 : fen,
      amountLabel: problem ? '' : money.yuanLabel(fen),
    });
  },

  onTopUp: function () {
    var self = this;
    var amountFen = self.data.amountFen;
    if (self.data.topping || !amountFen) {
      return Promise.resolve();
    }
    var before = self.data.wallet ? self.data.wallet.balanceFen : 0;
    self.setData({ topping: true });
    return api().topUp({ amountFen: amountFen }).then(function (result) {
      return api().pay(result.paymentParams).then(function (payResult) {
        if (payResult === 'cancelled') {
          platform.toast('已取消充值');
          return null;
        }
        platform.toast(payResult === 'paid' ? '支付成功，正在确认到账…' : '正在确认支付结果…');
        return self.pollBalance(before + result.amountFen, payResult === 'paid');
      });
    }).catch(function (error) {
      if (api().needsLogin(error)) {
        self.setData({ needLogin: true });
      }
      platform.toast(format.errorText(error));
    }).then(function () {
      self.setData({ topping: false });
    });
  },

  /** The provider confirms a little later: ask for the wallet until the balance has the top-up in it. */
  pollBalance: function (expectedFen, paid) {
    var self = this;
    return new Promise(function (resolve) {
      var tries = 0;
      var stopped = false;
      function again() {
        if (stopped || tries >= POLL_TRIES) {
          return false;
        }
        self.pollTimer = setTimeout(attempt, POLL_MS);
        return true;
      }
      function attempt() {
        self.pollTimer = null;
        tries += 1;
        api().wallet(20).then(function (wallet) {
          if (stopped) {
            return;
          }
          self.show(wallet);
          if (wallet.balanceFen >= expectedFen) {
            platform.toast('充值成功', 'success');
            resolve(true);
          } else if (!again()) {
            platform.toast(paid ? '到账稍有延迟，请稍后刷新' : '未确认到支付，请稍后刷新');
            resolve(false);
          }
        }, function () {
          if (!again()) {
            resolve(false);
          }
        });
      }
      self.stopPoll = function () {
        stopped = true;
        resolve(false);
      };
      attempt();
    });
  },

  stopPolling: function () {
    if (this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
    if (this.stopPoll) {
      this.stopPoll();
      this.stopPoll = null;
    }
  },

  onRetry: function () {
    return this.load();
  },

  onGoLogin: function () {
    platform.switchTab('/pages/me/index');
  },
});
