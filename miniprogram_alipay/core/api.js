/**
 * core/api.js: the high-level calls the pages make. Platform-neutral: every platform call goes through the
 * adapter (see platform.js at the tree's root); pages never build GraphQL or touch the network themselves.
 *
 * API: createApi({ adapter, config }) → api, where every async function returns a Promise:
 *   stationsNear({ latitude, longitude, radiusM = 5000, filter })  → [Station]   (filter: StationFilter or null)
 *   stationsInBox({ south, west, north, east, filter })            → [Station]
 *   station(id)                          → Station with chargePoints { connectors } (null if unknown)
 *   stationTariff(stationId)             → StationTariff or null (no tariff in force)
 *   scannedConnector(scanned)            → ScannedConnector (a code or the whole QR URL)
 *   payMethods()                         → ['SANDBOX', 'WALLET', ...] (cached after the first answer)
 *   chooseMethod(methods, useWallet)     → the method to pay with: 'WALLET' when useWallet, else the platform's
 *                                          own (adapter.payMethod) if listed, else 'SANDBOX' if listed; else null
 *   startCharging({ chargePointId, connectorNo, method, capFen }) → { order, paymentParams }
 *   charge({ chargePointId, connectorNo, capFen, useWallet })     → { order, payResult }: chooses the method,
 *        starts, pays (pay()), and stores the order as the active order once paid ('paid'); payResult is
 *        'paid' | 'cancelled' | 'failed'
 *   stopCharging(orderId)                → ChargingOrder
 *   order(id)                            → ChargingOrder (with costDetail)
 *   orders({ first = 20, before })       → { orders: [ChargingOrder], hasMore }
 *   sessionTrend(sessionId, { measurands, maxPoints = 300 }) → ChargingSession with latestSample and trend
 *   compare(ids, measurand = 'POWER_W', maxPoints = 300)     → SessionComparison
 *   wallet(first = 20)                   → Wallet { balanceFen heldFen statement }
 *   topUp({ amountFen, method })         → TopUpResult (method defaults to chooseMethod(payMethods, false))
 *   me()                                 → Me { id name vehicles } or null when not logged in
 *   isLoggedIn()                         → boolean (a token is stored)
 *   login()                              → Me: adapter.login() then loginWithWechat / loginWithAlipay (by
 *                                          adapter.name); stores the token; restarts the subscription socket
 *   logout()                             → clears the token, the cached viewer and the active order
 *   addVehicle({ plate, vin })           → { id plate vin }      removeVehicle(id) → true
 *   cards()                              → [IdTag] (the viewer's own cards)
 *   pay(paymentParams)                   → 'paid' | 'cancelled' | 'failed': null params (wallet) → 'paid';
 *        sandbox params ({ payUrl }) → adapter.confirm(...) then POST apiBase + payUrl; otherwise adapter.pay()
 *   resumeActiveOrder()                  → the stored active order if it is not final (else clears it) or null
 *   subscribe(name, variables, { next, error, complete }) → unsubscribe(); name: 'connectorStatus' |
 *        'orderUpdates' | 'sessionUpdates'; next receives the field's value (data[name])
 *   qrFromLaunch(query)                  → the scanned string from a page/app query: WeChat `q` (URL-encoded,
 *        decoded once), Alipay `qrCode`, or our own `scanned` (from the scan button); '' when none
 *   needsLogin(error)                    → true for a GraphQLError with code UNAUTHENTICATED
 *   request(query, variables)            → raw GraphQL data (for documents in core/queries.js)
 *   store (core/store.js), subscriptions (core/ws.js), config, graphqlUrl, wsUrl
 * Errors: GraphQLError (err.code from extensions.code) / NetworkError from core/graphql.js; a stored token the
 * server calls UNAUTHENTICATED is forgotten, so the next call goes out anonymous.
 */

var graphql = require('./graphql.js');
var ws = require('./ws.js');
var storeModule = require('./store.js');
var Q = require('./queries.js');
var format = require('./format.js');

function wsUrlOf(httpUrl) {
  return httpUrl.replace(/^https:/i, 'wss:').replace(/^http:/i, 'ws:');
}

function decodeOnce(value) {
  var text = String(value);
  try {
    return decodeURIComponent(text);
  } catch (e) {
    return text;
  }
}

function qrFromLaunch(query) {
  if (!query) return '';
  if (query.q) return decodeOnce(query.q).trim();
  if (query.qrCode) {
    var code = String(query.qrCode);
    return (/^https?%3A/i.test(code) ? decodeOnce(code) : code).trim();
  }
  if (query.scanned) return decodeOnce(query.scanned).trim();
  return '';
}

function createApi(options) {
  var adapter = options.adapter;
  var config = options.config;
  var base = String(config.apiBase).replace(/\/+$/, '');
  var graphqlUrl = base + '/graphql';
  var wsUrl = wsUrlOf(graphqlUrl);
  var store = storeModule.createStore(adapter);
  var client = graphql.createClient({ adapter: adapter, url: graphqlUrl, getToken: store.getToken });
  var subscriptions = ws.createSubscriptions({
    adapter: adapter,
    url: wsUrl,
    getToken: store.getToken,
    minDelayMs: options.minDelayMs,
    maxDelayMs: options.maxDelayMs,
    keepAliveMs: options.keepAliveMs
  });
  var methodsCache = null;

  function needsLogin(error) {
    return !!error && error.name === 'GraphQLError' && error.code === 'UNAUTHENTICATED';
  }

  function request(query, variables) {
    var hadToken = !!store.getToken();
    return client.request(query, variables).catch(function (error) {
      if (hadToken && needsLogin(error)) store.clearToken();
      throw error;
    });
  }

  function field(name) {
    return function (data) { return data[name]; };
  }

  function stationsNear(args) {
    return request(Q.STATIONS_NEAR, {
      latitude: args.latitude,
      longitude: args.longitude,
      radiusM: args.radiusM || 5000,
      filter: args.filter || null
    }).then(field('stationsNear'));
  }

  function stationsInBox(args) {
    return request(Q.STATIONS_IN_BOX, {
      south: args.south, west: args.west, north: args.north, east: args.east, filter: args.filter || null
    }).then(field('stationsInBox'));
  }

  function station(id) {
    return request(Q.STATION, { id: String(id) }).then(field('station'));
  }

  function stationTariff(stationId) {
    return request(Q.STATION_TARIFF, { stationId: String(stationId) }).then(field('stationTariff'));
  }

  function scannedConnector(scanned) {
    return request(Q.SCANNED_CONNECTOR, { scanned: String(scanned) }).then(field('scannedConnector'));
  }

  function payMethods() {
    if (methodsCache) return Promise.resolve(methodsCache.slice());
    return request(Q.PAY_METHODS, {}).then(function (data) {
      methodsCache = data.payMethods.slice();
      return data.payMethods;
    });
  }

  function chooseMethod(methods, useWallet) {
    var list = methods || [];
    if (useWallet) return list.indexOf('WALLET') >= 0 ? 'WALLET' : null;
    if (adapter.payMethod && list.indexOf(adapter.payMethod) >= 0) return adapter.payMethod;
    if (list.indexOf('SANDBOX') >= 0) return 'SANDBOX';
    return null;
  }

  function startCharging(args) {
    return request(Q.START_CHARGING, {
      chargePointId: String(args.chargePointId),
      connectorNo: Number(args.connectorNo),
      method: args.method,
      capFen: args.capFen
    }).then(field('startCharging'));
  }

  function pay(paymentParams) {
    if (!paymentParams) return Promise.resolve('paid');
    if (paymentParams.payUrl) {
      var target = /^https?:/i.test(paymentParams.payUrl) ? paymentParams.payUrl : base + paymentParams.payUrl;
      return Promise.resolve(adapter.confirm('沙箱支付', '演示环境的模拟支付，不会产生真实扣款。确认支付？'))
        .then(function (ok) {
          if (!ok) return 'cancelled';
          return Promise.resolve(adapter.request({ url: target, method: 'POST', header: {}, data: '' }))
            .then(function (response) {
              return response.status >= 200 && response.status < 300 ? 'paid' : 'failed';
            }, function () {
              return 'failed';
            });
        });
    }
    return Promise.resolve(adapter.pay(paymentParams)).catch(function () { return 'failed'; });
  }

  function charge(args) {
    return payMethods().then(function (methods) {
      var method = chooseMethod(methods, !!args.useWallet);
      if (!method) {
        throw new graphql.GraphQLError('没有可用的支付方式', 'PAYMENT_NOT_POSSIBLE', [], null, 200);
      }
      return startCharging({
        chargePointId: args.chargePointId, connectorNo: args.connectorNo, method: method, capFen: args.capFen
      });
    }).then(function (started) {
      return pay(started.paymentParams).then(function (payResult) {
        if (payResult === 'paid') store.setActiveOrder(started.order.id);
        return { order: started.order, payResult: payResult };
      });
    });
  }

  function stopCharging(orderId) {
    return request(Q.STOP_CHARGING, { orderId: String(orderId) }).then(field('stopCharging'));
  }

  function order(id) {
    return request(Q.ORDER, { id: String(id) }).then(field('order'));
  }

  function orders(args) {
    var first = (args && args.first) || 20;
    return request(Q.ORDERS, { first: first, before: (args && args.before) || null }).then(function (data) {
      return { orders: data.orders, hasMore: data.orders.length === first };
    });
  }

  function sessionTrend(sessionId, args) {
    return request(Q.SESSION_TREND, {
      id: String(sessionId),
      measurands: (args && args.measurands) || ['POWER_W', 'SOC_PCT', 'ENERGY_WH'],
      maxPoints: (args && args.maxPoints) || 300
    }).then(field('session'));
  }

  function compare(ids, measurand, maxPoints) {
    return request(Q.COMPARE, {
      ids: ids.map(String), measurand: measurand || 'POWER_W', maxPoints: maxPoints || 300
    }).then(field('sessionComparison'));
  }

  function wallet(first) {
    return request(Q.WALLET, { first: first || 20 }).then(field('wallet'));
  }

  function topUp(args) {
    var chosen = args.method ? Promise.resolve(args.method) : payMethods().then(function (methods) {
      var method = chooseMethod(methods, false);
      if (!method) throw new graphql.GraphQLError('没有可用的支付方式', 'PAYMENT_NOT_POSSIBLE', [], null, 200);
      return method;
    });
    return chosen.then(function (method) {
      return request(Q.TOP_UP, { method: method, amountFen: args.amountFen });
    }).then(field('topUpWallet'));
  }

  function me() {
    if (!store.getToken()) return Promise.resolve(null);
    return request(Q.ME, {}).then(function (data) {
      if (data.me) store.setViewer(data.me);
      return data.me;
    }, function (error) {
      if (needsLogin(error)) return null; // the token expired: logged out
      throw error;
    });
  }

  function login() {
    store.clearToken(); // a stale token would make the login itself UNAUTHENTICATED
    return Promise.resolve(adapter.login()).then(function (code) {
      if (adapter.name === 'alipay') {
        return client.request(Q.LOGIN_ALIPAY, { authCode: code }).then(field('loginWithAlipay'));
      }
      return client.request(Q.LOGIN_WECHAT, { code: code }).then(field('loginWithWechat'));
    }).then(function (result) {
      store.setToken(result.token, result.expiresInS);
      store.setViewer(result.me);
      subscriptions.reconnect();
      return result.me;
    });
  }

  function logout() {
    store.clearToken();
    store.clearActiveOrder();
    subscriptions.reconnect();
    return Promise.resolve();
  }

  function addVehicle(args) {
    return request(Q.ADD_VEHICLE, { plate: args.plate || null, vin: args.vin || null }).then(field('addVehicle'));
  }

  function removeVehicle(id) {
    return request(Q.REMOVE_VEHICLE, { id: String(id) }).then(field('removeVehicle'));
  }

  function cards() {
    return request(Q.CARDS, { first: 50 }).then(field('idTags'));
  }

  function resumeActiveOrder() {
    var id = store.getActiveOrder();
    if (!id) return Promise.resolve(null);
    return order(id).then(function (found) {
      if (format.isFinalOrder(found.status)) {
        store.clearActiveOrder();
        return null;
      }
      return found;
    }, function (error) {
      if (error.name === 'GraphQLError' && (error.code === 'NOT_FOUND' || error.code === 'FORBIDDEN')) {
        store.clearActiveOrder();
        return null;
      }
      throw error;
    });
  }

  function subscribe(name, variables, handlers) {
    var document = Q.SUBSCRIPTIONS[name];
    if (!document) throw new Error('unknown subscription ' + name);
    var h = handlers || {};
    return subscriptions.subscribe(document, variables, {
      next: function (data) {
        if (h.next && data) h.next(data[name]);
      },
      error: h.error,
      complete: h.complete
    });
  }

  return {
    stationsNear: stationsNear,
    stationsInBox: stationsInBox,
    station: station,
    stationTariff: stationTariff,
    scannedConnector: scannedConnector,
    payMethods: payMethods,
    chooseMethod: chooseMethod,
    startCharging: startCharging,
    charge: charge,
    stopCharging: stopCharging,
    order: order,
    orders: orders,
    sessionTrend: sessionTrend,
    compare: compare,
    wallet: wallet,
    topUp: topUp,
    me: me,
    isLoggedIn: function () { return !!store.getToken(); },
    login: login,
    logout: logout,
    addVehicle: addVehicle,
    removeVehicle: removeVehicle,
    cards: cards,
    pay: pay,
    resumeActiveOrder: resumeActiveOrder,
    subscribe: subscribe,
    qrFromLaunch: qrFromLaunch,
    needsLogin: needsLogin,
    request: request,
    store: store,
    subscriptions: subscriptions,
    config: config,
    graphqlUrl: graphqlUrl,
    wsUrl: wsUrl
  };
}

module.exports = { createApi: createApi, qrFromLaunch: qrFromLaunch, wsUrlOf: wsUrlOf };
