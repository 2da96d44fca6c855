/**
 * core/queries.js: every GraphQL document the mini-program sends, in one place (field names follow
 * schema/schema.graphql; tests validate each document against the server's schema).
 *
 * API: module.exports = { <NAME>: 'graphql document', ... } and SUBSCRIPTIONS = { connectorStatus,
 * orderUpdates, sessionUpdates } (the subscription documents by the field they subscribe to).
 */

var COUNTS = 'connectorCounts { total available charging faulted unavailable }';
var STATION_CARD = 'id name kind latitude longitude address city openingHours distanceM ' + COUNTS;
var PRICE = 'version kind tier electricityPriceE4 servicePriceE4 totalPriceE4 hourlyPriceE4 display';
var ORDER =
  'id outTradeNo status method chargePointId connectorNo stationId stationName capFen paidFen costFen dueFen ' +
  'refundFen sessionId failure failureCode quarantineReason createdAt paidAt finishedAt settledAt';
var SAMPLE = 'at energyWh powerW currentMa voltageMv socPct';
var TREND = 'bucketSeconds sampleCount origin series { measurand points { offsetS avg last } }';

var STATIONS_NEAR =
  'query StationsNear($latitude: Float!, $longitude: Float!, $radiusM: Float!, $filter: StationFilter) {\n' +
  '  stationsNear(latitude: $latitude, longitude: $longitude, radiusM: $radiusM, filter: $filter) { ' +
  STATION_CARD + ' }\n}';

var STATIONS_IN_BOX =
  'query StationsInBox($south: Float!, $west: Float!, $north: Float!, $east: Float!, $filter: StationFilter) {\n' +
  '  stationsInBox(south: $south, west: $west, north: $north, east: $east, filter: $filter) { ' +
  STATION_CARD + ' }\n}';

var STATION =
  'query Station($id: ID!) {\n' +
  '  station(id: $id) { ' + STATION_CARD + '\n' +
  '    chargePoints { id online status connectors { id connectorNo chargePointId kind maxPowerW status } }\n' +
  '  }\n}';

var STATION_TARIFF =
  'query StationTariff($stationId: ID!) {\n' +
  '  stationTariff(stationId: $stationId) {\n' +
  '    stationId at nextChangeAt\n' +
  '    price { ' + PRICE + ' }\n' +
  '    nextPrice { ' + PRICE + ' }\n' +
  '    tariff { id version kind note hourlyPriceE4 hourlyDisplay\n' +
  '      periods { start end tier electricityPriceE4 servicePriceE4 totalPriceE4 display }\n' +
  '      prices { tier electricityPriceE4 servicePriceE4 totalPriceE4 display }\n' +
  '      idleFee { idlePriceE4 graceMin capFen display } }\n' +
  '  }\n}';

var SCANNED_CONNECTOR =
  'query ScannedConnector($scanned: String!) {\n' +
  '  scannedConnector(scanned: $scanned) { code url stationId stationName stationAddress chargePointId ' +
  'connectorNo kind maxPowerW status pileOnline }\n}';

var PAY_METHODS = 'query PayMethods { payMethods }';

var START_CHARGING =
  'mutation StartCharging($chargePointId: ID!, $connectorNo: Int!, $method: PayMethod!, $capFen: Int!) {\n' +
  '  startCharging(chargePointId: $chargePointId, connectorNo: $connectorNo, method: $method, capFen: $capFen) {\n' +
  '    order { ' + ORDER + ' } paymentParams\n  }\n}';

var STOP_CHARGING = 'mutation StopCharging($orderId: ID!) { stopCharging(orderId: $orderId) { ' + ORDER + ' } }';

var ORDER_QUERY = 'query Order($id: ID!) { order(id: $id) { ' + ORDER + ' costDetail } }';

var ORDERS =
  'query Orders($first: Int!, $before: ID) { orders(first: $first, before: $before) { ' + ORDER + ' } }';

var SESSION_TREND =
  'query SessionTrend($id: ID!, $measurands: [Measurand!], $maxPoints: Int!) {\n' +
  '  session(id: $id) { id status phase startedAt stoppedAt durationS energyWh socStartPct socEndPct maxPowerW ' +
  'stopReason\n' +
  '    latestSample { ' + SAMPLE + ' }\n' +
  '    trend(measurands: $measurands, maxPoints: $maxPoints) { ' + TREND + ' }\n' +
  '  }\n}';

var COMPARE =
  'query Compare($ids: [ID!]!, $measurand: Measurand!, $maxPoints: Int!) {\n' +
  '  sessionComparison(ids: $ids, measurand: $measurand, maxPoints: $maxPoints) {\n' +
  '    bucketSeconds measurand\n' +
  '    sessions { session { id startedAt durationS energyWh maxPowerW station { id name } }\n' +
  '      series { measurand points { offsetS avg last } } }\n' +
  '  }\n}';

var WALLET =
  'query Wallet($first: Int!) { wallet(first: $first) { balanceFen heldFen ' +
  'statement { lineId at kind memo reference amountFen balanceAfterFen } } }';

var TOP_UP =
  'mutation TopUp($method: PayMethod!, $amountFen: Int!) {\n' +
  '  topUpWallet(method: $method, amountFen: $amountFen) { topUpId outTradeNo amountFen paymentParams }\n}';

var ME = 'query Me { me { id name vehicles { id plate vin } } }';

var LOGIN_WECHAT =
  'mutation LoginWithWechat($code: String!) { loginWithWechat(code: $code) { token expiresInS me { id name } } }';

var LOGIN_ALIPAY =
  'mutation LoginWithAlipay($authCode: String!) { loginWithAlipay(authCode: $authCode) { token expiresInS ' +
  'me { id name } } }';

var ADD_VEHICLE =
  'mutation AddVehicle($plate: String, $vin: String) { addVehicle(plate: $plate, vin: $vin) { id plate vin } }';

var REMOVE_VEHICLE = 'mutation RemoveVehicle($id: ID!) { removeVehicle(id: $id) }';

var CARDS = 'query Cards($first: Int!) { idTags(first: $first) { tag kind status expiresAt blockedReason } }';

var CONNECTOR_STATUS =
  'subscription ConnectorStatus($stationId: ID!) {\n' +
  '  connectorStatus(stationId: $stationId) { stationId chargePointId connectorId connectorNo status errorCode at ' +
  'counts { total available charging faulted unavailable } }\n}';

var ORDER_UPDATES =
  'subscription OrderUpdates($orderId: ID!) {\n' +
  '  orderUpdates(orderId: $orderId) { orderId status capFen paidFen costFen dueFen refundFen sessionId failure ' +
  'failureCode }\n}';

var SESSION_UPDATES =
  'subscription SessionUpdates($sessionId: ID!) {\n' +
  '  sessionUpdates(sessionId: $sessionId) {\n' +
  '    __typename\n' +
  '    ... on SessionSampleRecorded { sessionId sessionEnergyWh sample { ' + SAMPLE + ' } }\n' +
  '    ... on SessionPhaseEntered { sessionId phase at source }\n' +
  '    ... on SessionCostUpdated { sessionId orderId costFen capFen energyWh }\n' +
  '    ... on SessionClosed { sessionId stopReason energyWh at }\n' +
  '  }\n}';

module.exports = {
  STATIONS_NEAR: STATIONS_NEAR,
  STATIONS_IN_BOX: STATIONS_IN_BOX,
  STATION: STATION,
  STATION_TARIFF: STATION_TARIFF,
  SCANNED_CONNECTOR: SCANNED_CONNECTOR,
  PAY_METHODS: PAY_METHODS,
  START_CHARGING: START_CHARGING,
  STOP_CHARGING: STOP_CHARGING,
  ORDER: ORDER_QUERY,
  ORDERS: ORDERS,
  SESSION_TREND: SESSION_TREND,
  COMPARE: COMPARE,
  WALLET: WALLET,
  TOP_UP: TOP_UP,
  ME: ME,
  LOGIN_WECHAT: LOGIN_WECHAT,
  LOGIN_ALIPAY: LOGIN_ALIPAY,
  ADD_VEHICLE: ADD_VEHICLE,
  REMOVE_VEHICLE: REMOVE_VEHICLE,
  CARDS: CARDS,
  CONNECTOR_STATUS: CONNECTOR_STATUS,
  ORDER_UPDATES: ORDER_UPDATES,
  SESSION_UPDATES: SESSION_UPDATES,
  SUBSCRIPTIONS: {
    connectorStatus: CONNECTOR_STATUS,
    orderUpdates: ORDER_UPDATES,
    sessionUpdates: SESSION_UPDATES
  }
};
