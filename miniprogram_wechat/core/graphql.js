/**
 * core/graphql.js: GraphQL over HTTP POST through the platform adapter.
 *
 * API:
 *   createClient({ adapter, url, getToken }) → { request(query, variables) → Promise<data> }
 *     adapter.request({ url, method, header, data }) → Promise<{ status, data }> (data: object or JSON text)
 *     getToken() → token string or null; sent as 'Authorization: Bearer <token>'
 *   request() resolves with the response's `data` when it has no errors, and rejects with
 *     GraphQLError  err.name 'GraphQLError', err.message (the first error's), err.code (its extensions.code,
 *                   e.g. 'UNAUTHENTICATED'; 'GRAPHQL' when the server gave none), err.errors (all of them),
 *                   err.data (partial data or null), err.status (HTTP status)
 *     NetworkError  err.name 'NetworkError', err.code 'NETWORK', err.status (0 when no answer), err.cause
 *   GraphQLError(message, code, errors, data, status) and NetworkError(message, status, cause) are exported
 *   constructors (instanceof works; on platforms that transpile classes, compare err.name).
 */

function defineError(name, init) {
  function TypedError() {
    var error = new Error(arguments[0]);
    error.name = name;
    init.apply(error, arguments);
    Object.setPrototypeOf(error, TypedError.prototype);
    return error;
  }
  TypedError.prototype = Object.create(Error.prototype, {
    constructor: { value: TypedError, writable: true, configurable: true },
    name: { value: name, writable: true, configurable: true }
  });
  return TypedError;
}

var GraphQLError = defineError('GraphQLError', function (message, code, errors, data, status) {
  this.code = code || 'GRAPHQL';
  this.errors = errors || [];
  this.data = data === undefined ? null : data;
  this.status = status || 200;
});

var NetworkError = defineError('NetworkError', function (message, status, cause) {
  this.code = 'NETWORK';
  this.status = status || 0;
  this.cause = cause;
});

function parseBody(body) {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch (e) {
      return null;
    }
  }
  return body && typeof body === 'object' ? body : null;
}

function errorFromBody(body, status) {
  var errors = body.errors;
  var first = errors[0] || {};
  var code = first.extensions && first.extensions.code ? String(first.extensions.code) : 'GRAPHQL';
  return new GraphQLError(first.message || 'GraphQL error', code, errors, body.data, status);
}

function createClient(options) {
  var adapter = options.adapter;
  var url = options.url;
  var getToken = options.getToken || function () { return null; };

  function request(query, variables) {
    var header = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json'
    };
    var token = getToken();
    if (token) header.authorization = 'Bearer ' + token;
    var sent;
    try {
      sent = adapter.request({
        url: url,
        method: 'POST',
        header: header,
        data: JSON.stringify({ query: query, variables: variables || {} })
      });
    } catch (e) {
      return Promise.reject(new NetworkError('request failed: ' + e.message, 0, e));
    }
    return Promise.resolve(sent).then(function (response) {
      var status = response.status;
      var body = parseBody(response.data);
      if (body && Array.isArray(body.errors) && body.errors.length) {
        throw errorFromBody(body, status);
      }
      if (!body || status >= 400 || !body.data) {
        throw new NetworkError('unexpected answer from the server (HTTP ' + status + ')', status);
      }
      return body.data;
    }, function (failure) {
      throw new NetworkError('network failure: ' + ((failure && (failure.errMsg || failure.message)) || failure), 0, failure);
    });
  }

  return { request: request };
}

module.exports = {
  createClient: createClient,
  GraphQLError: GraphQLError,
  NetworkError: NetworkError
};
