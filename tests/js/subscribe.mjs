// Subscribe with the standard `graphql-ws` client (graphql-transport-ws) and print each result as one JSON line.
// usage: node subscribe.mjs <ws-url> <query> <variables-json> <how-many> [<bearer-token>]
// Exits 0 after <how-many> results, 1 on any error or an early completion.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, query, variablesJson, howMany, token] = process.argv.slice(2);
const wanted = Number(howMany);
let received = 0;

const connectionParams = token ? { authorization: `Bearer ${token}` } : {};
const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams });
client.on("connected", () => console.log(JSON.stringify({ event: "connected" })));

const done = (code) => client.dispose().finally(() => process.exit(code));

client.subscribe(
  { query, variables: JSON.parse(variablesJson) },
  {
    next: (result) => {
      console.log(JSON.stringify({ event: "next", result }));
      received += 1;
      if (received >= wanted) done(0);
    },
    error: (error) => {
      console.error(JSON.stringify({ event: "error", error: String(error?.message ?? error?.reason ?? error) }));
      done(1);
    },
    complete: () => {
      console.log(JSON.stringify({ event: "complete" }));
      done(received >= wanted ? 0 : 1);
    },
  },
);
setTimeout(() => { console.error(JSON.stringify({ event: "timeout", received })); done(1); }, 20000);
