/**
 * core/store.js: what the mini-program keeps across launches, in platform storage through the adapter.
 *
 * API:
 *   createStore(adapter, { now? }) → {
 *     getToken() → string | null            (null once expired)
 *     setToken(token, expiresInS?)          clearToken()
 *     getViewer() → { id, name } | null     setViewer(me)     (cached name for the me page; cleared with the token)
 *     getActiveOrder() → orderId | null     setActiveOrder(orderId)     clearActiveOrder()
 *   }
 *   adapter.getStorage(key) → value | '' | undefined, adapter.setStorage(key, value), adapter.removeStorage(key)
 *   (all synchronous). Keys: KEYS.token, KEYS.viewer, KEYS.activeOrder.
 */

var KEYS = {
  token: 'chargeops.token',
  viewer: 'chargeops.viewer',
  activeOrder: 'chargeops.activeOrder'
};

function createStore(adapter, options) {
  var now = (options && options.now) || function () { return Date.now(); };

  function read(key) {
    try {
      var value = adapter.getStorage(key);
      return value === '' || value === undefined ? null : value;
    } catch (e) {
      return null;
    }
  }

  function write(key, value) {
    adapter.setStorage(key, value);
  }

  function remove(key) {
    try {
      adapter.removeStorage(key);
    } catch (e) {
      // nothing stored
    }
  }

  function getToken() {
    var saved = read(KEYS.token);
    if (!saved || typeof saved !== 'object' || !saved.token) return null;
    if (saved.expiresAt && saved.expiresAt <= now()) {
      remove(KEYS.token);
      return null;
    }
    return saved.token;
  }

  function setToken(token, expiresInS) {
    write(KEYS.token, { token: token, expiresAt: expiresInS ? now() + expiresInS * 1000 : null });
  }

  function clearToken() {
    remove(KEYS.token);
    remove(KEYS.viewer);
  }

  function getViewer() {
    var viewer = read(KEYS.viewer);
    return viewer && typeof viewer === 'object' ? viewer : null;
  }

  function setViewer(me) {
    write(KEYS.viewer, { id: me.id, name: me.name });
  }

  function getActiveOrder() {
    var saved = read(KEYS.activeOrder);
    if (saved && typeof saved === 'object') return saved.id ? String(saved.id) : null;
    return saved ? String(saved) : null;
  }

  function setActiveOrder(orderId) {
    write(KEYS.activeOrder, { id: String(orderId), at: now() });
  }

  function clearActiveOrder() {
    remove(KEYS.activeOrder);
  }

  return {
    getToken: getToken,
    setToken: setToken,
    clearToken: clearToken,
    getViewer: getViewer,
    setViewer: setViewer,
    getActiveOrder: getActiveOrder,
    setActiveOrder: setActiveOrder,
    clearActiveOrder: clearActiveOrder
  };
}

module.exports = { createStore: createStore, KEYS: KEYS };
