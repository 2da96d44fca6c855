/**
 * utils/view.js: turns what core/api.js returns into the rows the Alipay templates show (labels, tones, yuan
 * strings, marker objects). Rules about money, units and labels stay in core (money.js, format.js); this file
 * only arranges them for the templates, and has no `my` calls.
 */
var money = require('../core/money.js');
var format = require('../core/format.js');

var PIN = {
  free: '/images/pin-green.png',
  busy: '/images/pin-grey.png',
  off: '/images/pin-grey.png',
  fault: '/images/pin-red.png',
};
var LABEL_COLOR = { free: '#19a15f', busy: '#646a73', off: '#8a8f99', fault: '#e5484d' };

/** The handler's dataset: Alipay fills currentTarget (the element with the handler) and target. */
function dataset(event) {
  if (!event) {
    return {};
  }
  if (event.currentTarget && event.currentTarget.dataset) {
    return event.currentTarget.dataset;
  }
  return (event.target && event.target.dataset) || {};
}

/** An input's value: Alipay's onInput gives e.detail.value. */
function inputValue(event) {
  if (event && event.detail && event.detail.value !== undefined) {
    return String(event.detail.value);
  }
  return event && event.value !== undefined ? String(event.value) : '';
}

// core's station tone (green / red / grey) as the CSS tone suffixes of app.acss
var TONE_OF = { green: 'free', red: 'fault', grey: 'off' };

/** Green: something is free; red: every connector is faulted or offline; grey: none free (core's rule). */
function countsTone(counts) {
  return TONE_OF[format.stationTone(counts)] || 'off';
}

function countsText(counts) {
  return format.countsLabel(counts);
}

function stationRow(station) {
  var counts = station.connectorCounts || { total: 0, available: 0, charging: 0, faulted: 0, unavailable: 0 };
  return {
    id: String(station.id),
    name: station.name,
    kind: station.kind,
    kindLabel: format.stationKind(station.kind),
    address: station.address || '',
    city: station.city || '',
    openingHours: station.openingHours || '',
    latitude: station.latitude,
    longitude: station.longitude,
    distance: station.distanceM === null || station.distanceM === undefined ? '' : format.distance(station.distanceM),
    counts: counts,
    countsText: countsText(counts),
    tone: countsTone(counts),
  };
}

/** A station row with new connector counts (from a connectorStatus update). */
function withCounts(row, counts) {
  var next = Object.assign({}, row);
  next.counts = counts;
  next.countsText = countsText(counts);
  next.tone = countsTone(counts);
  return next;
}

/** Alipay `<map>` marker: numeric id (what onMarkerTap returns), pin by tone, label "available/total". */
function marker(row, markerId) {
  var counts = row.counts || {};
  return {
    id: markerId,
    latitude: row.latitude,
    longitude: row.longitude,
    title: row.name,
    iconPath: PIN[row.tone] || PIN.off,
    width: 32,
    height: 40,
    label: {
      content: (counts.available || 0) + '/' + (counts.total || 0),
      color: LABEL_COLOR[row.tone] || LABEL_COLOR.off,
      fontSize: 12,
      borderRadius: 4,
      bgColor: '#ffffff',
      padding: 3,
    },
    callout: { content: row.name + ' ' + row.countsText },
  };
}

/** Markers carry a numeric id; a tap event gives it back on the event itself or in its detail. */
function markerIdOf(event) {
  if (!event) {
    return null;
  }
  var raw = event.markerId;
  if ((raw === undefined || raw === null) && event.detail) {
    raw = event.detail.markerId;
  }
  if (raw === undefined || raw === null || raw === '') {
    return null;
  }
  var id = Number(raw);
  return isFinite(id) ? id : null;
}

function connectorRow(connector, pileOnline) {
  var status = pileOnline === false ? 'UNKNOWN' : connector.status;
  return {
    id: String(connector.id),
    chargePointId: String(connector.chargePointId),
    connectorNo: connector.connectorNo,
    kindLabel: format.connectorType(connector.kind),
    dc: format.isDcConnector(connector.kind),
    power: format.kw(connector.maxPowerW),
    status: status,
    statusLabel: format.connectorStatus(status),
    tone: format.statusTone(status),
  };
}

function pileRows(chargePoints) {
  return (chargePoints || []).map(function (cp) {
    return {
      id: String(cp.id),
      online: !!cp.online,
      onlineLabel: cp.online ? '在线' : '离线',
      connectors: (cp.connectors || []).map(function (c) {
        return connectorRow(c, cp.online);
      }),
    };
  });
}

function priceYuan(e4) {
  return typeof e4 === 'number' ? money.priceE4(e4) : '--';
}

/** The period in force at the tariff's moment (the server's `at`, else now), in Asia/Shanghai time. */
function currentPeriodIndex(periods, atIso) {
  var at = atIso ? Date.parse(atIso) : NaN;
  return format.periodIndexAt(periods, isNaN(at) ? undefined : at);
}

/** The day's price table of a StationTariff, with the current period marked, and the price now / next. */
function tariffView(stationTariff) {
  if (!stationTariff) {
    return null;
  }
  var tariff = stationTariff.tariff || {};
  var periods = tariff.periods || [];
  var current = currentPeriodIndex(periods, stationTariff.at);
  return {
    kind: tariff.kind,
    kindLabel: format.tariffKind(tariff.kind),
    hourly: tariff.kind === 'HOURLY',
    hourlyDisplay: tariff.hourlyDisplay || '',
    note: tariff.note || '',
    idleFee: tariff.idleFee ? tariff.idleFee.display : '',
    rows: periods.map(function (p, i) {
      return {
        key: p.start + '-' + p.end,
        span: p.start + '–' + p.end,
        tier: p.tier,
        tierLabel: format.tariffTier(p.tier),
        energy: priceYuan(p.electricityPriceE4),
        service: priceYuan(p.servicePriceE4),
        total: priceYuan(p.totalPriceE4),
        current: i === current,
      };
    }),
    priceNow: stationTariff.price ? stationTariff.price.display : '',
    nextChange: stationTariff.nextChangeAt ? format.time(stationTariff.nextChangeAt) : '',
    nextPrice: stationTariff.nextPrice ? stationTariff.nextPrice.display : '',
  };
}

var ORDER_TONE = {
  CREATED: 'off', PAID: 'busy', STARTING: 'busy', CHARGING: 'busy', FINISHED: 'busy', SETTLING: 'busy',
  SETTLED: 'free', QUARANTINED: 'fault', CANCELLED: 'off', SETTLEMENT_FAILED: 'fault',
};

function fen(value) {
  return typeof value === 'number' ? money.yuanLabel(value) : '--';
}

function orderRow(order) {
  return {
    id: String(order.id),
    status: order.status,
    statusLabel: format.orderStatus(order.status),
    tone: ORDER_TONE[order.status] || 'off',
    final: format.isFinalOrder(order.status),
    station: order.stationName || '充电站 ' + order.stationId,
    stationId: String(order.stationId),
    connector: order.chargePointId + ' · ' + order.connectorNo + ' 号枪',
    time: format.dateTime(order.createdAt),
    method: format.payMethod(order.method),
    cap: fen(order.capFen),
    paid: fen(order.paidFen),
    cost: fen(order.costFen),
    due: fen(typeof order.dueFen === 'number' ? order.dueFen : null),
    refund: fen(order.refundFen),
    hasRefund: order.refundFen > 0,
    sessionId: order.sessionId ? String(order.sessionId) : '',
  };
}

/**
 * The cost breakdown of an order's costDetail: core's lines (energy and service fee by tariff period, hourly
 * lines, the idle fee) and the server's total; null without a breakdown.
 */
function costLines(detail) {
  var rows = format.costBreakdown(detail);
  if (!rows.length) {
    return null;
  }
  var cost = detail.cost && typeof detail.cost === 'object' ? detail.cost : detail;
  return {
    rows: rows,
    total: typeof cost.total_fen === 'number' ? money.yuanLabel(cost.total_fen) : '--',
    energy: format.kwh(cost.energy_wh),
  };
}

/** Why an order did not charge or settle, for the driver (core's zh-CN texts, by the server's failureCode). */
function orderNote(order) {
  if (order.failureCode) {
    return format.failureText(order.failureCode);
  }
  return order.status === 'QUARANTINED' ? '订单待人工审核，审核后结算' : '';
}

var VIN_PATTERN = /^[A-HJ-NPR-Z0-9]{17}$/;
var PLATE_PATTERN = new RegExp(
  '^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]' +
  '(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5}[DF])$'
);

/** Plate and VIN as the server will take them (the same rules as api/core/vehicle_ids.py), or a zh-CN reason. */
function checkVehicle(plateText, vinText) {
  var plate = String(plateText || '').replace(/[\s·•.\-]/g, '').toUpperCase();
  var vin = String(vinText || '').trim().toUpperCase();
  if (!plate && !vin) {
    return { error: '请填写车牌号或车架号（VIN）' };
  }
  if (plate && !PLATE_PATTERN.test(plate)) {
    return { error: '车牌号格式不正确，例如 浙A12345 或 浙AD12345' };
  }
  if (vin && !VIN_PATTERN.test(vin)) {
    return { error: '车架号应为 17 位字母或数字（不含 I、O、Q）' };
  }
  return { error: '', plate: plate || null, vin: vin || null };
}

module.exports = {
  checkVehicle: checkVehicle,
  costLines: costLines,
  orderNote: orderNote,
  dataset: dataset,
  inputValue: inputValue,
  countsTone: countsTone,
  countsText: countsText,
  stationRow: stationRow,
  withCounts: withCounts,
  marker: marker,
  markerIdOf: markerIdOf,
  connectorRow: connectorRow,
  pileRows: pileRows,
  priceYuan: priceYuan,
  currentPeriodIndex: currentPeriodIndex,
  tariffView: tariffView,
  orderRow: orderRow,
  fen: fen,
};
