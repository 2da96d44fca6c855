/**
 * core/ws.js: GraphQL subscriptions over one WebSocket (graphql-transport-ws protocol), through the adapter.
 *
 * API:
 *   createSubscriptions({ adapter, url, getToken, minDelayMs?, maxDelayMs?, ackTimeoutMs?, keepAliveMs?,
 *                         pongTimeoutMs?, timers? })
 *     → { subscribe(query, variables, { next, error, complete }) → unsubscribe(), close(), reconnect(),
 *         activeCount() }
 *   adapter.connectSocket({ url, protocols }) → { send(text), close(code, reason), onOpen(cb), onMessage(cb(text)),
 *                                                 onClose(cb({ code, reason })), onError(cb(err)) }
 *   next(data)       each `next` payload's data (the whole data object: { <field>: value })
 *   error(err)       the server ended the operation with errors (GraphQLError with err.code from
 *                    extensions.code), or the socket was refused for good (NetworkError, err.status = close
 *                    code); no more calls follow for that subscription
 *   complete()       the server completed the operation (e.g. orderUpdates once the order is final)
 * Behaviour: connects lazily on the first subscribe and closes when the last one is unsubscribed; offers the
 * subprotocol 'graphql-transport-ws'; sends connection_init with { authorization: 'Bearer <token>' } when
 * getToken() gives one ({} otherwise) and waits for connection_ack (ackTimeoutMs, default 10 s) before it
 * sends `subscribe`; answers ping with pong; multiplexes operations by id; when the socket drops it
 * reconnects after minDelayMs (1 s), doubling to maxDelayMs (30 s), and subscribes every active operation
 * again. While connected it sends a `ping` every keepAliveMs (25 s; 0 turns it off) and treats a socket with no
 * `pong` within pongTimeoutMs (10 s) as dead (mobile networks drop idle sockets silently): it reconnects.
 * reconnect() drops the socket now and reconnects at once (use it after login/logout so the new token
 * is sent). close() ends everything without calling handlers. timers = { setTimeout, clearTimeout } for tests.
 */

var graphql = require('./graphql.js');

var PROTOCOL = 'graphql-transport-ws';
// closes that another attempt cannot fix: bad message, forbidden, subprotocol not acceptable, duplicate id
var FATAL_CLOSE_CODES = [4400, 4403, 4406, 4409];

function createSubscriptions(options) {
  var adapter = options.adapter;
  var url = options.url;
  var getToken = options.getToken || function () { return null; };
  var minDelayMs = options.minDelayMs === undefined ? 1000 : options.minDelayMs;
  var maxDelayMs = options.maxDelayMs === undefined ? 30000 : options.maxDelayMs;
  var ackTimeoutMs = options.ackTimeoutMs === undefined ? 10000 : options.ackTimeoutMs;
  var keepAliveMs = options.keepAliveMs === undefined ? 25000 : options.keepAliveMs;
  var pongTimeoutMs = options.pongTimeoutMs === undefined ? 10000 : options.pongTimeoutMs;
  var timers = options.timers || {
    setTimeout: function (fn, ms) { return setTimeout(fn, ms); },
    clearTimeout: function (handle) { clearTimeout(handle); }
  };

  var socket = null;
  var acked = false;
  var subs = {};
  var active = 0;
  var lastId = 0;
  var failures = 0;
  var retryTimer = null;
  var ackTimer = null;
  var pingTimer = null;
  var pongTimer = null;

  function sendOn(target, message) {
    try {
      target.send(JSON.stringify(message));
    } catch (e) {
      // the socket is going away; onClose/onError reconnects
    }
  }

  function subscribeMessage(id) {
    var sub = subs[id];
    return { id: id, type: 'subscribe', payload: { query: sub.query, variables: sub.variables || {} } };
  }

  function clearTimer(name) {
    if (name === 'ack' && ackTimer !== null) {
      timers.clearTimeout(ackTimer);
      ackTimer = null;
    }
    if (name === 'retry' && retryTimer !== null) {
      timers.clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (name === 'keepAlive') {
      if (pingTimer !== null) timers.clearTimeout(pingTimer);
      if (pongTimer !== null) timers.clearTimeout(pongTimer);
      pingTimer = null;
      pongTimer = null;
    }
  }

  function keepAlive(own) {
    clearTimer('keepAlive');
    if (!keepAliveMs) return;
    pingTimer = timers.setTimeout(function () {
      pingTimer = null;
      if (socket !== own) return;
      sendOn(own, { type: 'ping' });
      pongTimer = timers.setTimeout(function () {
        pongTimer = null;
        if (socket === own) drop(own, 4000, 'no pong');
      }, pongTimeoutMs);
    }, keepAliveMs);
  }

  function connect() {
    if (socket || retryTimer !== null || active === 0) return;
    var own;
    try {
      own = adapter.connectSocket({ url: url, protocols: [PROTOCOL] });
    } catch (e) {
      own = null;
    }
    if (!own) {
      scheduleRetry();
      return;
    }
    socket = own;
    acked = false;
    own.onOpen(function () {
      if (socket !== own) return;
      var token = getToken();
      sendOn(own, { type: 'connection_init', payload: token ? { authorization: 'Bearer ' + token } : {} });
      clearTimer('ack');
      ackTimer = timers.setTimeout(function () {
        ackTimer = null;
        if (socket === own) drop(own, 4408, 'connection_ack timeout');
      }, ackTimeoutMs);
    });
    own.onMessage(function (text) {
      if (socket === own) receive(own, text);
    });
    own.onClose(function (event) {
      if (socket === own) lost(event && event.code, event && event.reason);
    });
    own.onError(function () {
      if (socket === own) drop(own, 1006, 'socket error');
    });
  }

  function drop(own, code, reason) {
    if (socket !== own) return;
    socket = null; // before close(): a close event fired synchronously must not count as this loss
    try {
      own.close(1000, reason);
    } catch (e) {
      // already closed
    }
    lost(code, reason);
  }

  function lost(code, reason) {
    socket = null;
    acked = false;
    clearTimer('ack');
    clearTimer('keepAlive');
    if (active === 0) return;
    if (FATAL_CLOSE_CODES.indexOf(code) >= 0) {
      var error = new graphql.NetworkError('subscription socket refused: ' + code + ' ' + (reason || ''), code);
      var failed = subs;
      subs = {};
      active = 0;
      failures = 0;
      clearTimer('retry');
      Object.keys(failed).forEach(function (id) {
        call(failed[id].handlers.error, error);
      });
      return;
    }
    scheduleRetry();
  }

  function scheduleRetry() {
    if (retryTimer !== null || active === 0) return;
    var delay = Math.min(maxDelayMs, minDelayMs * Math.pow(2, failures));
    failures += 1;
    retryTimer = timers.setTimeout(function () {
      retryTimer = null;
      connect();
    }, delay);
  }

  function finish(id) {
    var sub = subs[id];
    if (!sub) return null;
    delete subs[id];
    active -= 1;
    if (active === 0) shutdown();
    return sub;
  }

  function receive(own, text) {
    var message;
    try {
      message = JSON.parse(typeof text === 'string' ? text : String(text));
    } catch (e) {
      return drop(own, 4400, 'unparsable message');
    }
    var sub;
    switch (message.type) {
      case 'connection_ack':
        clearTimer('ack');
        acked = true;
        failures = 0;
        Object.keys(subs).forEach(function (id) {
          sendOn(own, subscribeMessage(id));
        });
        keepAlive(own);
        return;
      case 'ping':
        sendOn(own, message.payload ? { type: 'pong', payload: message.payload } : { type: 'pong' });
        return;
      case 'pong':
        if (pongTimer !== null) keepAlive(own); // answered: the next ping in keepAliveMs
        return;
      case 'next':
        sub = subs[message.id];
        if (!sub) return;
        var payload = message.payload || {};
        if (payload.errors && payload.errors.length && !payload.data) {
          finish(message.id);
          call(sub.handlers.error, graphqlError(payload.errors));
          return;
        }
        call(sub.handlers.next, payload.data);
        return;
      case 'error':
        sub = finish(message.id);
        if (sub) call(sub.handlers.error, graphqlError(message.payload));
        return;
      case 'complete':
        sub = finish(message.id);
        if (sub) call(sub.handlers.complete);
        return;
      default:
        return;
    }
  }

  function graphqlError(errors) {
    var list = Array.isArray(errors) ? errors : [errors || {}];
    var first = list[0] || {};
    var code = first.extensions && first.extensions.code ? String(first.extensions.code) : 'GRAPHQL';
    return new graphql.GraphQLError(first.message || 'subscription error', code, list, null, 200);
  }

  function call(fn, value) {
    if (typeof fn !== 'function') return;
    try {
      fn(value);
    } catch (e) {
      // a page's handler must not break the socket for the other subscriptions
      if (typeof console !== 'undefined') console.error('subscription handler failed', e);
    }
  }

  function shutdown() {
    clearTimer('retry');
    clearTimer('ack');
    clearTimer('keepAlive');
    failures = 0;
    var own = socket;
    socket = null;
    acked = false;
    if (own) {
      try {
        own.close(1000, 'done');
      } catch (e) {
        // already closed
      }
    }
  }

  function subscribe(query, variables, handlers) {
    lastId += 1;
    var id = String(lastId);
    subs[id] = { query: query, variables: variables, handlers: handlers || {} };
    active += 1;
    if (socket && acked) sendOn(socket, subscribeMessage(id));
    else connect();
    return function unsubscribe() {
      if (!subs[id]) return;
      if (socket && acked) sendOn(socket, { id: id, type: 'complete' });
      finish(id);
    };
  }

  function close() {
    subs = {};
    active = 0;
    shutdown();
  }

  function reconnect() {
    var own = socket;
    socket = null;
    acked = false;
    clearTimer('ack');
    clearTimer('retry');
    clearTimer('keepAlive');
    failures = 0;
    if (own) {
      try {
        own.close(1000, 'reconnect');
      } catch (e) {
        // already closed
      }
    }
    connect();
  }

  return {
    subscribe: subscribe,
    close: close,
    reconnect: reconnect,
    activeCount: function () { return active; }
  };
}

module.exports = { createSubscriptions: createSubscriptions, PROTOCOL: PROTOCOL };
