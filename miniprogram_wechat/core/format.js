/**
 * core/format.js: units, times and zh-CN labels for what the server sends (integers in named units).
 *
 * API (every function returns a string; null/undefined input gives '--'):
 *   kw(powerW)            7234 → '7.2 kW'         kwh(energyWh)   12345 → '12.35 kWh'
 *   volts(voltageMv)      380123 → '380.1 V'      amps(currentMa) 16049 → '16.0 A'
 *   pct(socPct)           80 → '80%'              distance(m)     850 → '850 m', 1234.5 → '1.2 km'
 *   decimal(value, divisor, decimals)  integer maths with half-up rounding: decimal(7250, 1000, 1) → '7.3'
 *   duration(seconds)     3725 → '01:02:05' (hours grow past 24)
 *   dateTime(iso)         '2024-05-01T04:05:06Z' → '2024-05-01 12:05' (Asia/Shanghai, UTC+8, no DST)
 *   dateTimeSeconds(iso)  → '2024-05-01 12:05:06'    date(iso) → '2024-05-01'    time(iso) → '12:05'
 *   elapsedSeconds(fromIso, nowMs)  whole seconds since fromIso (never negative)
 *   Labels (unknown values come back as they are):
 *   connectorStatus(s) orderStatus(s) chargingPhase(p) connectorType(t) tariffTier(t) tariffKind(k)
 *   measurand(m) payMethod(m) stationKind(k) idTagStatus(s) idTagKind(k) statementKind(k)
 *   statusTone(connectorStatus) → 'free' | 'busy' | 'fault' | 'off'  (CSS class suffix)
 *   stationTone(connectorCounts) → 'green' (any available) | 'red' (every connector faulted or offline) |
 *                         'grey' (none available)            countsLabel(counts) → '空闲 2/4'
 *   periodIndexAt(periods, nowMs?) → index of the tariff period ({ start: 'HH:MM', end: 'HH:MM' | '24:00' })
 *                         that holds the moment in Asia/Shanghai time, or -1
 *   isFinalOrder(status)  SETTLED, CANCELLED, SETTLEMENT_FAILED (the server's orderUpdates ends there)
 *   isDcConnector(type)   GBT_DC, CCS2, CHADEMO
 *   costBreakdown(costDetail) → [{ key, label, detail, amount }] from an order's costDetail (energy lines by tariff
 *                         period: 电费 and 服务费; hourly lines; the idle fee), amounts as '¥1.23'; [] when none
 *   failureText(order.failureCode) → zh-CN for why an order did not charge or settle, by the server's
 *                         OrderFailureCode ('' when null; a code this app does not know gets a general sentence)
 *   stopReason(reason)    OCPP stop reasons in zh-CN (Remote → 远程停止, EVDisconnected → 车辆断开 …)
 *   errorText(error)      a zh-CN sentence for a GraphQLError (by err.code), NetworkError or other error
 */

var money = require('./money.js');

var DASH = '--';

function missing(value) {
  return value === null || value === undefined || value === '' || (typeof value === 'number' && isNaN(value));
}

function pad(value, width) {
  var text = String(value);
  while (text.length < (width || 2)) text = '0' + text;
  return text;
}

function decimal(value, divisor, decimals) {
  if (missing(value)) return DASH;
  var step = 1;
  for (var i = 0; i < decimals; i++) step *= 10;
  var negative = value < 0;
  var abs = Math.abs(Math.round(value));
  // units of 1/step, rounded half up: abs * step / divisor
  var units = Math.floor((abs * step * 2 + divisor) / (divisor * 2));
  var whole = Math.floor(units / step);
  var text = decimals > 0 ? whole + '.' + pad(units % step, decimals) : String(whole);
  return (negative && units !== 0 ? '-' : '') + text;
}

function kw(powerW) { return missing(powerW) ? DASH : decimal(powerW, 1000, 1) + ' kW'; }
function kwh(energyWh) { return missing(energyWh) ? DASH : decimal(energyWh, 1000, 2) + ' kWh'; }
function volts(voltageMv) { return missing(voltageMv) ? DASH : decimal(voltageMv, 1000, 1) + ' V'; }
function amps(currentMa) { return missing(currentMa) ? DASH : decimal(currentMa, 1000, 1) + ' A'; }
function pct(socPct) { return missing(socPct) ? DASH : Math.round(socPct) + '%'; }

function distance(metres) {
  if (missing(metres)) return DASH;
  if (metres < 1000) return Math.round(metres) + ' m';
  return decimal(Math.round(metres), 1000, 1) + ' km';
}

function duration(seconds) {
  if (missing(seconds)) return DASH;
  var s = Math.max(0, Math.floor(seconds));
  return pad(Math.floor(s / 3600)) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60);
}

var SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;

function shanghai(iso) {
  if (missing(iso)) return null;
  var ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (isNaN(ms)) return null;
  return new Date(ms + SHANGHAI_OFFSET_MS);
}

function date(iso) {
  var d = shanghai(iso);
  if (!d) return DASH;
  return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
}

function time(iso) {
  var d = shanghai(iso);
  if (!d) return DASH;
  return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
}

function dateTime(iso) {
  var d = shanghai(iso);
  return d ? date(iso) + ' ' + time(iso) : DASH;
}

function dateTimeSeconds(iso) {
  var d = shanghai(iso);
  return d ? dateTime(iso) + ':' + pad(d.getUTCSeconds()) : DASH;
}

function elapsedSeconds(fromIso, nowMs) {
  var from = Date.parse(fromIso);
  if (isNaN(from)) return 0;
  return Math.max(0, Math.floor(((nowMs === undefined ? Date.now() : nowMs) - from) / 1000));
}

function labeller(table) {
  return function (value) {
    if (missing(value)) return DASH;
    return Object.prototype.hasOwnProperty.call(table, value) ? table[value] : String(value);
  };
}

var CONNECTOR_STATUS = {
  AVAILABLE: '空闲', PREPARING: '准备中', CHARGING: '充电中', SUSPENDED_EV: '车辆暂停',
  SUSPENDED_EVSE: '充电桩暂停', FINISHING: '结束中', RESERVED: '已预约', UNAVAILABLE: '不可用',
  FAULTED: '故障', UNKNOWN: '离线'
};
var ORDER_STATUS = {
  CREATED: '待支付', PAID: '已支付', STARTING: '启动中', CHARGING: '充电中', FINISHED: '充电结束',
  QUARANTINED: '待审核', SETTLING: '结算中', SETTLED: '已完成', CANCELLED: '已取消', SETTLEMENT_FAILED: '结算失败'
};
var PHASE = { HANDSHAKE: '握手', CONFIGURATION: '参数配置', CHARGING: '充电', ENDING: '结束中', ENDED: '已结束' };
var CONNECTOR_TYPE = {
  GBT_DC: '国标直流', GBT_AC: '国标交流', CCS2: 'CCS2 直流', TYPE2: 'Type 2 交流', CHADEMO: 'CHAdeMO 直流', OTHER: '其他'
};
var TIER = { SHARP: '尖', PEAK: '峰', FLAT: '平', VALLEY: '谷' };
var TARIFF_KIND = { TIME_OF_USE: '分时电价', HOURLY: '按时计费' };
var MEASURAND = {
  POWER_W: '功率', SOC_PCT: 'SoC', VOLTAGE_MV: '电压', CURRENT_MA: '电流', ENERGY_WH: '电量', TEMPERATURE_DECIC: '温度'
};
var PAY_METHOD = { WECHATPAY: '微信支付', ALIPAY: '支付宝', SANDBOX: '沙箱支付', WALLET: '钱包余额' };
var STATION_KIND = { CHARGING: '充电站', SWAP: '换电站' };
var ID_TAG_STATUS = { ACCEPTED: '有效', BLOCKED: '已停用', EXPIRED: '已过期' };
var ID_TAG_KIND = { RFID: '充电卡', APP: '小程序', VIN: '即插即充 (VIN)' };
var STATEMENT_KIND = {
  top_up: '充值', hold: '预扣充电费', capture: '充电扣费', hold_release: '退回预扣', refund: '退款',
  wallet_refund: '退款到钱包', payment: '支付', adjustment: '调整'
};

function statusTone(status) {
  if (status === 'AVAILABLE') return 'free';
  if (status === 'FAULTED') return 'fault';
  if (status === 'UNAVAILABLE' || status === 'UNKNOWN' || missing(status)) return 'off';
  return 'busy';
}

function stationTone(counts) {
  if (!counts) return 'grey';
  if (counts.available > 0) return 'green';
  if (counts.total > 0 && counts.faulted + counts.unavailable >= counts.total) return 'red';
  return 'grey';
}

function countsLabel(counts) {
  if (!counts) return DASH;
  return '空闲 ' + counts.available + '/' + counts.total;
}

function periodIndexAt(periods, nowMs) {
  var clock = time(nowMs === undefined ? Date.now() : nowMs);
  var found = -1;
  (periods || []).forEach(function (period, index) {
    var end = period.end === '00:00' ? '24:00' : period.end;
    if (found < 0 && period.start <= clock && clock < end) found = index;
  });
  return found;
}

var FINAL_ORDER = ['SETTLED', 'CANCELLED', 'SETTLEMENT_FAILED'];
function isFinalOrder(status) { return FINAL_ORDER.indexOf(status) >= 0; }

var DC_TYPES = ['GBT_DC', 'CCS2', 'CHADEMO'];
var AC_TYPES = ['GBT_AC', 'TYPE2'];
function isDcConnector(type) { return DC_TYPES.indexOf(type) >= 0; }

var ERROR_TEXT = {
  UNAUTHENTICATED: '请先登录',
  FORBIDDEN: '没有权限执行此操作',
  LOGIN_FAILED: '登录失败，请重试',
  ACCOUNT_LOCKED: '账号已锁定，请稍后再试',
  NOT_FOUND: '未找到相关记录',
  INVALID_INPUT: '输入有误',
  UNKNOWN_QR_CODE: '无法识别的二维码，请扫描充电桩上的二维码',
  CONNECTOR_BUSY: '该充电枪正在使用中，请换一个充电枪',
  PAYMENT_NOT_POSSIBLE: '当前无法支付，请稍后再试',
  ORDER_STATE: '订单状态已变化，请刷新',
  INSUFFICIENT_FUNDS: '钱包余额不足，请先充值',
  NOT_ADMITTED: '该站点当前不对您开放',
  NO_TARIFF: '该站点暂未设置电价',
  UNKNOWN_CHARGE_POINT: '未找到该充电桩',
  UNKNOWN_CONNECTOR: '未找到该充电枪',
  CHARGE_POINT_REJECTED: '充电桩拒绝了请求',
  SESSION_NOT_FOUND: '未找到充电记录',
  PAYMENT_PROVIDER_ERROR: '支付渠道暂时不可用，请稍后再试'
};

function costBreakdown(costDetail) {
  // ChargingOrder.costDetail is the cost itself ({ total_fen, energy: [...], time: [...], idle }); the stored
  // order keeps it under "cost", which is accepted too
  var cost = costDetail && costDetail.cost && typeof costDetail.cost === 'object' ? costDetail.cost : costDetail;
  if (!cost || typeof cost !== 'object' || (!cost.energy && !cost.time && !cost.idle)) return [];
  var lines = [];
  (cost.energy || []).forEach(function (line) {
    var tier = line.tier ? TIER[String(line.tier).toUpperCase()] || line.tier : '';
    var label = tier ? tier + '时段' : '电量';
    var energy = kwh(line.energy_wh);
    lines.push({
      key: lines.length,
      label: label + '电费',
      detail: energy + ' × ¥' + money.priceE4(line.energy_price_e4) + '/kWh',
      amount: money.yuanLabel(line.energy_fee_fen)
    });
    lines.push({
      key: lines.length,
      label: label + '服务费',
      detail: energy + ' × ¥' + money.priceE4(line.service_price_e4) + '/kWh',
      amount: money.yuanLabel(line.service_fee_fen)
    });
  });
  (cost.time || []).forEach(function (line) {
    lines.push({
      key: lines.length,
      label: '按时计费',
      detail: duration(line.seconds) + ' × ¥' + money.priceE4(line.hourly_price_e4) + '/小时',
      amount: money.yuanLabel(line.fee_fen)
    });
  });
  if (cost.idle && cost.idle.fee_fen) {
    lines.push({
      key: lines.length,
      label: '占位费',
      detail: cost.idle.minutes + ' 分钟' + (cost.idle.capped ? '（已封顶）' : ''),
      amount: money.yuanLabel(cost.idle.fee_fen)
    });
  }
  return lines;
}

// by the server's OrderFailureCode (schema/schema.graphql); the English `failure` text is for operators only
var FAILURE_TEXT = {
  NOT_PAID_IN_TIME: '超时未支付，订单已取消',
  PAYMENT_NOT_CREATED: '支付创建失败，订单已取消',
  WALLET_BALANCE_LOW: '钱包余额不足，订单已取消',
  WALLET_HOLD_MISSING: '钱包预扣未成功，订单已取消',
  PAID_TOO_LATE: '支付已超时，款项将原路退回',
  NOT_ADMITTED: '您暂不能在此充电，预付款将原路退回',
  PILE_REFUSED: '充电桩未能启动，预付款将原路退回',
  PILE_OFFLINE: '充电桩已离线，预付款将原路退回',
  PILE_NO_ANSWER: '充电桩无响应，预付款将原路退回',
  NO_SESSION_IN_TIME: '未能开始充电（请检查充电枪是否插好），预付款将原路退回',
  REFUND_FAILED: '退款处理遇到问题，我们会尽快处理',
  SHARING_FAILED: '结算处理遇到问题，我们会尽快处理',
  SETTLEMENT_FAILED: '结算处理遇到问题，我们会尽快处理'
};

function failureText(failureCode) {
  if (!failureCode) return '';
  var code = String(failureCode);
  // a code newer than this app: still say that something went wrong, never the server's English
  return Object.prototype.hasOwnProperty.call(FAILURE_TEXT, code) ? FAILURE_TEXT[code] : '订单未完成，我们会尽快处理';
}

var STOP_REASON = {
  Remote: '远程停止', Local: '充电桩上停止', EVDisconnected: '车辆断开', EmergencyStop: '急停',
  PowerLoss: '断电', HardReset: '充电桩重启', SoftReset: '充电桩重启', Reboot: '充电桩重启',
  UnlockCommand: '解锁充电枪', DeAuthorized: '授权失效', Other: '其他原因'
};

function errorText(error) {
  if (!error) return '出错了，请重试';
  if (error.name === 'NetworkError') return '网络不给力，请检查网络后重试';
  if (error.name === 'MoneyParseError') return error.message;
  if (error.code && Object.prototype.hasOwnProperty.call(ERROR_TEXT, error.code)) {
    var text = ERROR_TEXT[error.code];
    // INVALID_INPUT carries the server's reason, which is useful to the driver
    return error.code === 'INVALID_INPUT' && error.message ? text + '：' + error.message : text;
  }
  return error.message ? '出错了：' + error.message : '出错了，请重试';
}

module.exports = {
  decimal: decimal,
  kw: kw,
  kwh: kwh,
  volts: volts,
  amps: amps,
  pct: pct,
  distance: distance,
  duration: duration,
  date: date,
  time: time,
  dateTime: dateTime,
  dateTimeSeconds: dateTimeSeconds,
  elapsedSeconds: elapsedSeconds,
  connectorStatus: labeller(CONNECTOR_STATUS),
  orderStatus: labeller(ORDER_STATUS),
  chargingPhase: labeller(PHASE),
  connectorType: labeller(CONNECTOR_TYPE),
  tariffTier: labeller(TIER),
  tariffKind: labeller(TARIFF_KIND),
  measurand: labeller(MEASURAND),
  payMethod: labeller(PAY_METHOD),
  stationKind: labeller(STATION_KIND),
  idTagStatus: labeller(ID_TAG_STATUS),
  idTagKind: labeller(ID_TAG_KIND),
  statementKind: labeller(STATEMENT_KIND),
  statusTone: statusTone,
  stationTone: stationTone,
  countsLabel: countsLabel,
  periodIndexAt: periodIndexAt,
  isFinalOrder: isFinalOrder,
  isDcConnector: isDcConnector,
  DC_TYPES: DC_TYPES,
  AC_TYPES: AC_TYPES,
  costBreakdown: costBreakdown,
  failureText: failureText,
  stopReason: labeller(STOP_REASON),
  errorText: errorText
};
