/**
 * core/chart.js: trend lines drawn on a CanvasRenderingContext2D (the 2D context of <canvas type="2d">),
 * and the shaping of server trends / live samples into chart series. Pure: no platform calls.
 *
 * API:
 *   drawTrend(ctx, { width, height, series, xLabel, xFormat? }) → layout | null
 *     series: [{ points: [{ x, y }], color, label, unit, min?, max? }]  (x ascending; y null = gap)
 *     Each series gets its own y axis (first on the left, second on the right, more share no labels):
 *     from min (default min(0, smallest y)) to max (default the largest y rounded up to a 1/1.2/1.5/2/2.5/3/
 *     4/5/6/8 × 10^n step). All series share the x axis (smallest to largest x of any series).
 *     Uses only clearRect, beginPath, moveTo, lineTo, stroke, fillText and the strokeStyle, fillStyle,
 *     lineWidth, font properties. With no points at all it clears the canvas and returns null.
 *     layout = { left, top, plotWidth, plotHeight, xMin, xMax, axes: [{ min, max }] }
 *   project(layout, axisIndex, point) → { x, y } canvas coordinates of a data point (what drawTrend uses)
 *   MEASURANDS  { POWER_W: { scale: 1000, unit: 'kW', label: '功率', color }, SOC_PCT, VOLTAGE_MV, CURRENT_MA,
 *                 ENERGY_WH, TEMPERATURE_DECIC }
 *   seriesFromTrend(trend, measurand, options?) → series (points from trend.series[measurand], bucket `avg`,
 *     x = offsetS, y = value / scale; options override color/label/min/max; SoC is fixed to 0..100)
 *   sampleValue(sample, measurand) → the sample's value in chart units, or null
 *   pointFromSample(sample, startedAt, measurand) → { x: seconds since startedAt, y } or null
 *   appendPoint(points, point, maxPoints = 300) → a new array with the point added (thinned to keep at most
 *     maxPoints: every second older point is dropped)
 *   shareAxis(series) → the same series with one common min/max (sessions compared on one scale)
 *   minutesLabel(seconds) → '12分' / '1时05分' (the default xFormat)
 */

var MEASURANDS = {
  POWER_W: { field: 'powerW', scale: 1000, unit: 'kW', label: '功率', color: '#07c160' },
  SOC_PCT: { field: 'socPct', scale: 1, unit: '%', label: 'SoC', color: '#1677ff', min: 0, max: 100 },
  VOLTAGE_MV: { field: 'voltageMv', scale: 1000, unit: 'V', label: '电压', color: '#fa8c16' },
  CURRENT_MA: { field: 'currentMa', scale: 1000, unit: 'A', label: '电流', color: '#eb2f96' },
  ENERGY_WH: { field: 'energyWh', scale: 1000, unit: 'kWh', label: '电量', color: '#722ed1' },
  TEMPERATURE_DECIC: { field: 'temperatureDecic', scale: 10, unit: '°C', label: '温度', color: '#f5222d' }
};

var FONT_PX = 10;
var STEPS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

function niceCeil(value) {
  if (value <= 0) return value;
  var magnitude = Math.pow(10, Math.floor(Math.log(value) / Math.LN10));
  for (var i = 0; i < STEPS.length; i++) {
    var candidate = STEPS[i] * magnitude;
    if (candidate >= value - magnitude * 1e-9) return Number(candidate.toPrecision(12));
  }
  return 10 * magnitude;
}

function numberLabel(value) {
  if (Math.abs(value) >= 100 || value === Math.round(value)) return String(Math.round(value));
  return String(Math.round(value * 10) / 10);
}

function minutesLabel(seconds) {
  var minutes = Math.floor(Math.max(0, seconds) / 60);
  if (minutes < 60) return minutes + '分';
  var rest = minutes % 60;
  return Math.floor(minutes / 60) + '时' + (rest < 10 ? '0' : '') + rest + '分';
}

function hasValue(point) {
  return point && typeof point.y === 'number' && isFinite(point.y) && typeof point.x === 'number' && isFinite(point.x);
}

function axisOf(series) {
  var lo = Infinity;
  var hi = -Infinity;
  (series.points || []).forEach(function (p) {
    if (!hasValue(p)) return;
    if (p.y < lo) lo = p.y;
    if (p.y > hi) hi = p.y;
  });
  if (lo === Infinity) return null;
  var min = series.min !== undefined && series.min !== null ? series.min : Math.min(0, lo);
  var max = series.max !== undefined && series.max !== null ? series.max : niceCeil(hi);
  if (!(max > min)) max = min + 1;
  return { min: min, max: max };
}

function project(layout, axisIndex, point) {
  var axis = layout.axes[axisIndex];
  var span = layout.xMax - layout.xMin;
  var fx = span > 0 ? (point.x - layout.xMin) / span : 0.5;
  var fy = (point.y - axis.min) / (axis.max - axis.min);
  return {
    x: layout.left + fx * layout.plotWidth,
    y: layout.top + layout.plotHeight - fy * layout.plotHeight
  };
}

function textWidth(text) {
  return String(text).length * FONT_PX * 0.6;
}

function drawTrend(ctx, options) {
  var width = options.width;
  var height = options.height;
  var series = (options.series || []).filter(function (s) { return s && s.points; });
  var xFormat = options.xFormat || minutesLabel;
  ctx.clearRect(0, 0, width, height);

  var xMin = Infinity;
  var xMax = -Infinity;
  var axes = series.map(function (s) {
    s.points.forEach(function (p) {
      if (!hasValue(p)) return;
      if (p.x < xMin) xMin = p.x;
      if (p.x > xMax) xMax = p.x;
    });
    return axisOf(s);
  });
  if (xMin === Infinity) return null;

  var layout = {
    left: 40,
    top: 22,
    plotWidth: width - 40 - (series.length > 1 ? 40 : 12),
    plotHeight: height - 22 - 24,
    xMin: xMin,
    xMax: xMax,
    axes: axes
  };
  var bottom = layout.top + layout.plotHeight;
  var right = layout.left + layout.plotWidth;
  ctx.font = FONT_PX + 'px sans-serif';

  // frame: y axis, x axis and a middle guide line
  ctx.strokeStyle = '#d9d9d9';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(layout.left, layout.top);
  ctx.lineTo(layout.left, bottom);
  ctx.lineTo(right, bottom);
  ctx.stroke();
  ctx.strokeStyle = '#f0f0f0';
  ctx.beginPath();
  ctx.moveTo(layout.left, layout.top + layout.plotHeight / 2);
  ctx.lineTo(right, layout.top + layout.plotHeight / 2);
  ctx.stroke();

  series.forEach(function (s, index) {
    var axis = axes[index];
    if (!axis) return;
    var color = s.color || '#07c160';
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    var open = false;
    var drawn = 0;
    s.points.forEach(function (p) {
      if (!hasValue(p)) {
        open = false;
        return;
      }
      var at = project(layout, index, p);
      if (!open) {
        ctx.moveTo(at.x, at.y);
        open = true;
      } else {
        ctx.lineTo(at.x, at.y);
      }
      drawn += 1;
    });
    if (drawn === 1) {
      // a lone sample: a short tick so it is visible
      var only = project(layout, index, s.points.filter(hasValue)[0]);
      ctx.lineTo(only.x + 1, only.y);
    }
    ctx.stroke();

    ctx.fillStyle = color;
    var unit = s.unit ? ' ' + s.unit : '';
    var top = numberLabel(axis.max) + unit;
    var low = numberLabel(axis.min);
    if (index === 0) {
      ctx.fillText(top, Math.max(0, layout.left - 4 - textWidth(top)), layout.top + FONT_PX / 2);
      ctx.fillText(low, Math.max(0, layout.left - 4 - textWidth(low)), bottom);
    } else if (index === 1) {
      ctx.fillText(top, right + 4, layout.top + FONT_PX / 2);
      ctx.fillText(low, right + 4, bottom);
    }
    ctx.fillText((s.label || '') + (s.unit ? '(' + s.unit + ')' : ''), layout.left + index * 90, FONT_PX + 2);
  });

  ctx.fillStyle = '#999999';
  ctx.fillText(xFormat(xMin), layout.left, height - 6);
  var endLabel = xFormat(xMax);
  ctx.fillText(endLabel, right - textWidth(endLabel), height - 6);
  if (options.xLabel) {
    ctx.fillText(options.xLabel, layout.left + layout.plotWidth / 2 - textWidth(options.xLabel) / 2, height - 6);
  }
  return layout;
}

function sampleValue(sample, measurand) {
  var spec = MEASURANDS[measurand];
  if (!sample || !spec) return null;
  var raw = sample[spec.field];
  return typeof raw === 'number' ? raw / spec.scale : null;
}

function pointFromSample(sample, startedAt, measurand) {
  var y = sampleValue(sample, measurand);
  if (y === null) return null;
  var at = Date.parse(sample.at);
  var origin = Date.parse(startedAt);
  if (isNaN(at) || isNaN(origin)) return null;
  return { x: Math.max(0, (at - origin) / 1000), y: y };
}

function seriesFromTrend(trend, measurand, options) {
  var spec = MEASURANDS[measurand] || { scale: 1, unit: '', label: measurand, color: '#07c160' };
  var opts = options || {};
  var found = null;
  ((trend && trend.series) || []).forEach(function (s) {
    if (s.measurand === measurand) found = s;
  });
  var points = found ? found.points.map(function (p) {
    var value = typeof p.avg === 'number' ? p.avg : p.last;
    return { x: p.offsetS, y: typeof value === 'number' ? value / spec.scale : null };
  }) : [];
  return {
    points: points,
    color: opts.color || spec.color,
    label: opts.label || spec.label,
    unit: opts.unit || spec.unit,
    min: opts.min !== undefined ? opts.min : spec.min,
    max: opts.max !== undefined ? opts.max : spec.max
  };
}

function shareAxis(series) {
  var lo = Infinity;
  var hi = -Infinity;
  var fixedMin = null;
  var fixedMax = null;
  series.forEach(function (s) {
    if (s.min !== undefined && s.min !== null) fixedMin = fixedMin === null ? s.min : Math.min(fixedMin, s.min);
    if (s.max !== undefined && s.max !== null) fixedMax = fixedMax === null ? s.max : Math.max(fixedMax, s.max);
    (s.points || []).forEach(function (p) {
      if (!hasValue(p)) return;
      if (p.y < lo) lo = p.y;
      if (p.y > hi) hi = p.y;
    });
  });
  if (lo === Infinity) return series;
  var min = fixedMin !== null ? Math.min(fixedMin, lo) : Math.min(0, lo);
  var max = fixedMax !== null ? Math.max(fixedMax, hi) : niceCeil(hi);
  if (!(max > min)) max = min + 1;
  return series.map(function (s) {
    var copy = {};
    Object.keys(s).forEach(function (k) { copy[k] = s[k]; });
    copy.min = min;
    copy.max = max;
    return copy;
  });
}

function appendPoint(points, point, maxPoints) {
  var limit = maxPoints || 300;
  var next = (points || []).slice();
  if (!point) return next;
  if (next.length && next[next.length - 1].x > point.x) return next; // late sample: keep x ascending
  if (next.length >= limit) {
    var half = Math.floor(next.length / 2);
    var older = next.slice(0, half).filter(function (p, i) { return i % 2 === 0; });
    next = older.concat(next.slice(half));
  }
  next.push(point);
  return next;
}

module.exports = {
  drawTrend: drawTrend,
  project: project,
  niceCeil: niceCeil,
  MEASURANDS: MEASURANDS,
  seriesFromTrend: seriesFromTrend,
  sampleValue: sampleValue,
  pointFromSample: pointFromSample,
  appendPoint: appendPoint,
  shareAxis: shareAxis,
  minutesLabel: minutesLabel
};
