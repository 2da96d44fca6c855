/**
 * platform.js: the WeChat adapter, the only file of this tree that calls wx.* platform APIs for the core
 * (network, sockets, storage, login, payment, location, scanning, dialogs). The core (core/api.js) receives it as
 * `adapter`; the Alipay tree has a file of the same shape over my.*. Every function that waits returns a
 * Promise that settles exactly once.
 *
 *   name 'wechat', payMethod 'WECHATPAY'
 *   request({ url, method, header, data }) → Promise<{ status, data }>  (any HTTP status resolves; network failure rejects)
 *   connectSocket({ url, protocols }) → { send, close, onOpen, onMessage(text), onClose({ code, reason }), onError }
 *   getStorage(key) / setStorage(key, value) / removeStorage(key)     (synchronous)
 *   login() → Promise<code>            wx.login
 *   pay(paymentParams) → Promise<'paid' | 'cancelled' | 'failed'>    wx.requestPayment
 *   getLocation() → Promise<{ latitude, longitude }> (gcj02)           openLocation({ latitude, longitude, name, address })
 *   scanCode() → Promise<string>       toast(text)       confirm(title, content) → Promise<boolean>
 */

function once(resolve, reject) {
  var done = false;
  return {
    resolve: function (value) {
      if (!done) {
        done = true;
        resolve(value);
      }
    },
    reject: function (error) {
      if (!done) {
        done = true;
        reject(error);
      }
    }
  };
}

function request(options) {
  return new Promise(function (resolve, reject) {
    var settle = once(resolve, reject);
    wx.request({
      url: options.url,
      method: options.method || 'GET',
      header: options.header || {},
      data: options.data,
      dataType: 'json',
      success: function (res) {
        settle.resolve({ status: res.statusCode, data: res.data });
      },
      fail: function (err) {
        settle.reject(err || { errMsg: 'request:fail' });
      }
    });
  });
}

function connectSocket(options) {
  var task = wx.connectSocket({
    url: options.url,
    protocols: options.protocols,
    success: function () {},
    fail: function () {}
  });
  return {
    send: function (text) {
      task.send({ data: text });
    },
    close: function (code, reason) {
      task.close({ code: code || 1000, reason: reason || '' });
    },
    onOpen: function (cb) {
      task.onOpen(function () { cb(); });
    },
    onMessage: function (cb) {
      task.onMessage(function (res) { cb(res.data); });
    },
    onClose: function (cb) {
      task.onClose(function (res) { cb({ code: res && res.code, reason: res && res.reason }); });
    },
    onError: function (cb) {
      task.onError(function (err) { cb(err); });
    }
  };
}

function getStorage(key) {
  return wx.getStorageSync(key);
}

function setStorage(key, value) {
  wx.setStorageSync(key, value);
}

function removeStorage(key) {
  wx.removeStorageSync(key);
}

function login() {
  return new Promise(function (resolve, reject) {
    var settle = once(resolve, reject);
    wx.login({
      success: function (res) {
        if (res && res.code) settle.resolve(res.code);
        else settle.reject(new Error('wx.login gave no code'));
      },
      fail: function (err) {
        settle.reject(new Error((err && err.errMsg) || 'wx.login failed'));
      }
    });
  });
}

function pay(params) {
  return new Promise(function (resolve) {
    var settle = once(resolve, resolve);
    wx.requestPayment({
      timeStamp: String(params.timeStamp),
      nonceStr: String(params.nonceStr),
      package: String(params.package),
      signType: params.signType || 'RSA',
      paySign: String(params.paySign),
      success: function () {
        settle.resolve('paid');
      },
      fail: function (err) {
        var message = (err && err.errMsg) || '';
        settle.resolve(message.indexOf('cancel') >= 0 ? 'cancelled' : 'failed');
      }
    });
  });
}

function getLocation() {
  return new Promise(function (resolve, reject) {
    var settle = once(resolve, reject);
    wx.getLocation({
      type: 'gcj02',
      success: function (res) {
        settle.resolve({ latitude: res.latitude, longitude: res.longitude });
      },
      fail: function (err) {
        settle.reject(err || new Error('getLocation failed'));
      }
    });
  });
}

function openLocation(place) {
  wx.openLocation({
    latitude: Number(place.latitude),
    longitude: Number(place.longitude),
    name: place.name || '',
    address: place.address || '',
    scale: 16
  });
}

function scanCode() {
  return new Promise(function (resolve, reject) {
    var settle = once(resolve, reject);
    wx.scanCode({
      onlyFromCamera: false,
      scanType: ['qrCode'],
      success: function (res) {
        settle.resolve(res.result || res.path || '');
      },
      fail: function (err) {
        settle.reject(err || new Error('scanCode failed'));
      }
    });
  });
}

function toast(text) {
  wx.showToast({ title: String(text), icon: 'none', duration: 2000 });
}

function confirm(title, content) {
  return new Promise(function (resolve) {
    var settle = once(resolve, resolve);
    wx.showModal({
      title: title,
      content: content,
      success: function (res) {
        settle.resolve(!!(res && res.confirm));
      },
      fail: function () {
        settle.resolve(false);
      }
    });
  });
}

module.exports = {
  name: 'wechat',
  payMethod: 'WECHATPAY',
  request: request,
  connectSocket: connectSocket,
  getStorage: getStorage,
  setStorage: setStorage,
  removeStorage: removeStorage,
  login: login,
  pay: pay,
  getLocation: getLocation,
  openLocation: openLocation,
  scanCode: scanCode,
  toast: toast,
  confirm: confirm
};
