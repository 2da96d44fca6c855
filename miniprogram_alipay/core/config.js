/**
 * core/config.js: where the mini-program finds its server.
 *
 * API (platform-neutral, plain CommonJS):
 *   module.exports = { apiBase }   // HTTPS origin of the ChargeOps API, no trailing slash
 * GraphQL is served at apiBase + '/graphql' (HTTP POST) and at the wss: form of the same URL (subscriptions,
 * graphql-transport-ws). The sandbox pay URL the server hands out is relative to apiBase as well.
 * One value only: tests point the app at their own server by rewriting URLs in the harness.
 */
module.exports = {
  apiBase: 'https://chargeops.example.cn'
};
