// Starts GraphiQL with the settings the page carries in <script id="chargeops-graphiql-config">.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("chargeops-graphiql-config").textContent);
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var fetcher = GraphiQL.createFetcher({
    url: config.endpoint,
    subscriptionUrl: config.subscriptionEndpoint || scheme + window.location.host + config.endpoint,
    headers: { Accept: "application/graphql-response+json, application/json;q=0.9" },
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
