/**
 * The Alipay adapter: the only file of this mini-program that calls `my.*`.
 *
 * It gives core/ and the pages the platform-neutral interface of the shared plan (request, connectSocket, storage,
 * login, pay, location, scan, toast, confirm) plus the page helpers both trees need (navigation, canvas, loading),
 * and hides what Alipay does differently from WeChat:
 * - my.request takes `headers` and answers `status`; a non-2xx answer arrives in `fail` (error 19), and still
 *   resolves here as {status, data} whenever the status is known, so core sees GraphQL's own error body.
 * - my.connectSocket needs `multiple: true` to return a SocketTask; a message is nested as `res.data.data`.
 * - my.getAuthCode gives `authCode`; my.tradePay reports a cancel through `success` with resultCode '6001', so only
 *   '9000' is a payment.
 * - my.getLocation answers gcj02 already, with the coordinates as strings.
 * - storage takes and returns {key, data} objects.
 */

var HTTP_STATUS_ERROR = 19;
var JSON_PARSE_ERROR = 14;

function isObject(value) {
  return value !== null && typeof value === 'object';
}

function failure(message, err) {
  var error = new Error(message + (err && err.errorMessage ? ': ' + err.errorMessage : ''));
  error.platformError = err || null;
  return error;
}

function parseBody(data) {
  if (typeof data !== 'string') {
    return data;
  }
  try {
    return JSON.parse(data);
  } catch (e) {
    return data;
  }
}

function statusOf(res) {
  if (!isObject(res)) {
    return 0;
  }
  var status = res.status || res.statusCode;
  return typeof status === 'number' ? status : Number(status) || 0;
}

/** POST/GET over my.request; resolves {status, data} for any HTTP status, rejects only when nothing came back. */
function request(options) {
  var headers = Object.assign({ 'content-type': 'application/json' }, options.header || options.headers || {});
  var body = options.data;
  if (isObject(body) && /json/i.test(headers['content-type'] || '')) {
    body = JSON.stringify(body);
  }
  return new Promise(function (resolve, reject) {
    my.request({
      url: options.url,
      method: options.method || 'GET',
      headers: headers,
      data: body,
      dataType: 'text',
      timeout: options.timeout || 30000,
      success: function (res) {
        resolve({ status: statusOf(res) || 200, data: parseBody(res.data) });
      },
      fail: function (err) {
        var status = statusOf(err);
        if (status) {
          resolve({ status: status, data: parseBody(err.data) });
          return;
        }
        if (err && err.error === JSON_PARSE_ERROR) {
          resolve({ status: 200, data: err.data });
          return;
        }
        var message = err && err.error === HTTP_STATUS_ERROR ? 'HTTP 错误' : '网络请求失败';
        reject(failure(message, err));
      },
    });
  });
}

function messageText(res) {
  var payload = isObject(res) ? res.data : res;
  if (isObject(payload) && 'data' in payload) {
    // {socketTaskID, data, isBuffer}: the frame itself is one level down.
    if (payload.isBuffer) {
      return null;
    }
    payload = payload.data;
  }
  if (typeof payload === 'string') {
    return payload;
  }
  return isObject(payload) ? JSON.stringify(payload) : null;
}

function closeInfo(res) {
  var info = isObject(res) && isObject(res.data) ? res.data : res || {};
  return { code: info.code || 1006, reason: info.reason || '' };
}

/** A SocketTask (multiple: true) behind the plan's small socket interface. */
function connectSocket(options) {
  var handlers = { open: [], message: [], close: [], error: [] };
  var closed = false;
  function emit(kind, value) {
    handlers[kind].slice().forEach(function (cb) {
      cb(value);
    });
  }
  function gone(err) {
    if (closed) {
      return;
    }
    closed = true;
    emit('error', err);
    emit('close', { code: 1006, reason: (err && err.errorMessage) || 'connect failed' });
  }
  var task = null;
  try {
    task = my.connectSocket({
      url: options.url,
      protocols: options.protocols,
      multiple: true,
      fail: function (err) {
        setTimeout(function () {
          gone(err);
        }, 0);
      },
    });
  } catch (e) {
    task = null;
  }
  if (!task || typeof task.send !== 'function') {
    setTimeout(function () {
      gone({ errorMessage: 'my.connectSocket 不支持 multiple' });
    }, 0);
  } else {
    task.onOpen(function () {
      emit('open', {});
    });
    task.onMessage(function (res) {
      var text = messageText(res);
      if (text !== null) {
        emit('message', text);
      }
    });
    task.onClose(function (res) {
      if (!closed) {
        closed = true;
        emit('close', closeInfo(res));
      }
    });
    task.onError(function (err) {
      emit('error', err);
    });
  }
  return {
    send: function (text) {
      if (task && !closed) {
        task.send({ data: text });
      }
    },
    close: function (code, reason) {
      if (task && !closed) {
        task.close({ code: code || 1000, reason: reason || '' });
      }
    },
    onOpen: function (cb) {
      handlers.open.push(cb);
    },
    onMessage: function (cb) {
      handlers.message.push(cb);
    },
    onClose: function (cb) {
      handlers.close.push(cb);
    },
    onError: function (cb) {
      handlers.error.push(cb);
    },
  };
}

function getStorage(key) {
  var res = my.getStorageSync({ key: key });
  var value = isObject(res) ? res.data : undefined;
  return value === undefined || value === null || value === '' ? null : value;
}

function setStorage(key, value) {
  my.setStorageSync({ key: key, data: value });
}

function removeStorage(key) {
  my.removeStorageSync({ key: key });
}

/** Silent login: my.getAuthCode with auth_base needs no consent dialog; the server trades it for the user id. */
function login() {
  return new Promise(function (resolve, reject) {
    my.getAuthCode({
      scopes: 'auth_base',
      success: function (res) {
        if (res && res.authCode) {
          resolve(res.authCode);
        } else {
          reject(failure('支付宝授权失败', res));
        }
      },
      fail: function (err) {
        reject(failure('支付宝授权失败', err));
      },
    });
  });
}

/** my.tradePay: only resultCode 9000 is paid; 6001 the user cancelled; anything else (8000 processing, 6002
 * network, 6004 unknown) is not a payment here, and the page asks the server what became of the order. */
function pay(params) {
  var args = {};
  if (params && params.tradeNO) {
    args.tradeNO = params.tradeNO;
  } else if (params && params.orderStr) {
    args.orderStr = params.orderStr;
  } else {
    return Promise.resolve('failed');
  }
  return new Promise(function (resolve) {
    var done = false;
    function finish(result) {
      if (!done) {
        done = true;
        resolve(result);
      }
    }
    args.success = function (res) {
      var code = String(res && res.resultCode);
      finish(code === '9000' ? 'paid' : code === '6001' ? 'cancelled' : 'failed');
    };
    args.fail = function () {
      finish('failed');
    };
    my.tradePay(args);
  });
}

function getLocation() {
  return new Promise(function (resolve, reject) {
    my.getLocation({
      type: 0,
      success: function (res) {
        var latitude = Number(res.latitude);
        var longitude = Number(res.longitude);
        if (isFinite(latitude) && isFinite(longitude) && (latitude || longitude)) {
          resolve({ latitude: latitude, longitude: longitude });
        } else {
          reject(failure('定位失败', res));
        }
      },
      fail: function (err) {
        reject(failure('定位失败', err));
      },
    });
  });
}

function openLocation(place) {
  return new Promise(function (resolve, reject) {
    my.openLocation({
      latitude: String(place.latitude),
      longitude: String(place.longitude),
      name: place.name || '',
      address: place.address || '',
      scale: 16,
      success: function () {
        resolve();
      },
      fail: function (err) {
        reject(failure('无法打开地图', err));
      },
    });
  });
}

function scanCode() {
  return new Promise(function (resolve, reject) {
    my.scan({
      scanType: ['qrCode'],
      success: function (res) {
        var code = res && (res.code || res.qrCode || res.result);
        if (code) {
          resolve(String(code));
        } else {
          reject(failure('未识别到二维码', res));
        }
      },
      fail: function (err) {
        reject(failure('扫码已取消', err));
      },
    });
  });
}

function toast(text, kind) {
  my.showToast({ content: String(text), type: kind || 'none', duration: 2000 });
}

function confirm(title, content) {
  return new Promise(function (resolve) {
    my.confirm({
      title: title,
      content: content || '',
      confirmButtonText: '确定',
      cancelButtonText: '取消',
      success: function (res) {
        resolve(Boolean(res && res.confirm));
      },
      fail: function () {
        resolve(false);
      },
    });
  });
}

// -- page helpers (navigation, loading, canvas): here too, so pages never touch `my`

function navigateTo(url) {
  my.navigateTo({ url: url });
}

function redirectTo(url) {
  my.redirectTo({ url: url });
}

function switchTab(url) {
  my.switchTab({ url: url });
}

function navigateBack() {
  my.navigateBack({ delta: 1 });
}

function setTitle(title) {
  my.setNavigationBar({ title: title });
}

function showLoading(text) {
  my.showLoading({ content: text || '加载中…' });
}

function hideLoading() {
  my.hideLoading();
}

function stopPullDownRefresh() {
  my.stopPullDownRefresh();
}

function pixelRatio() {
  try {
    var info = my.getSystemInfoSync();
    return (info && info.pixelRatio) || 2;
  } catch (e) {
    return 2;
  }
}

/**
 * The 2d context of `<canvas id type="2d">`, scaled to the device pixel ratio: {ctx, width, height} in CSS px, or
 * null where the canvas node is not available (old base library, or no renderer).
 */
function canvas2d(page, id) {
  return new Promise(function (resolve) {
    var query = null;
    try {
      query = typeof my.createSelectorQuery === 'function' ? my.createSelectorQuery() : null;
    } catch (e) {
      query = null;
    }
    if (!query || typeof query.select !== 'function') {
      resolve(null);
      return;
    }
    try {
      query.select('#' + id).node().select('#' + id).boundingClientRect().exec(function (res) {
        var node = res && res[0] && res[0].node;
        var rect = (res && res[1]) || {};
        if (!node || typeof node.getContext !== 'function') {
          resolve(null);
          return;
        }
        var width = rect.width || node.width || 300;
        var height = rect.height || node.height || 150;
        var ratio = pixelRatio();
        node.width = Math.round(width * ratio);
        node.height = Math.round(height * ratio);
        var ctx = node.getContext('2d');
        if (ctx && typeof ctx.scale === 'function') {
          ctx.scale(ratio, ratio);
        }
        resolve(ctx ? { ctx: ctx, width: width, height: height } : null);
      });
    } catch (e) {
      resolve(null);
    }
  });
}

/** The visible region of `<map id>` as a box {south, west, north, east}, or null when it cannot be read. */
function mapRegion(id) {
  return new Promise(function (resolve) {
    var settled = false;
    var timer = null;
    function finish(value) {
      if (!settled) {
        settled = true;
        if (timer) {
          clearTimeout(timer);
        }
        resolve(value);
      }
    }
    var context = null;
    try {
      context = typeof my.createMapContext === 'function' ? my.createMapContext(id) : null;
    } catch (e) {
      context = null;
    }
    if (!context || typeof context.getRegion !== 'function') {
      finish(null);
      return;
    }
    timer = setTimeout(function () {
      finish(null);
    }, 1500);
    context.getRegion({
      success: function (res) {
        var sw = res && res.southwest;
        var ne = res && res.northeast;
        if (!sw || !ne) {
          finish(null);
          return;
        }
        finish({
          south: Number(sw.latitude),
          west: Number(sw.longitude),
          north: Number(ne.latitude),
          east: Number(ne.longitude),
        });
      },
      fail: function () {
        finish(null);
      },
    });
  });
}

module.exports = {
  name: 'alipay',
  payMethod: 'ALIPAY',
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
  confirm: confirm,
  navigateTo: navigateTo,
  redirectTo: redirectTo,
  switchTab: switchTab,
  navigateBack: navigateBack,
  setTitle: setTitle,
  showLoading: showLoading,
  hideLoading: hideLoading,
  stopPullDownRefresh: stopPullDownRefresh,
  canvas2d: canvas2d,
  mapRegion: mapRegion,
};
