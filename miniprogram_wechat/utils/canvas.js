/**
 * utils/canvas.js: the pages' trend charts on <canvas type="2d">, drawn by core/chart.js.
 *
 *   var trend = canvas.chart(page, '#trend');   // in onLoad
 *   trend.draw({ series: [...], xLabel: '充电时长' })  // whenever the data changed
 *
 * The canvas node is looked up lazily, after the page has rendered the data that shows it (charts sit inside
 * wx:if blocks), and again on a later draw when it was not there yet. Without a canvas (tests, an old base
 * library) draw() only remembers the series.
 */
var chartCore = require('../core/chart.js');

function pixelRatio() {
  try {
    if (typeof wx.getWindowInfo === 'function') return wx.getWindowInfo().pixelRatio || 2;
    if (typeof wx.getSystemInfoSync === 'function') return wx.getSystemInfoSync().pixelRatio || 2;
  } catch (e) {
    // fall through
  }
  return 2;
}

function init2d(page, selector) {
  return new Promise(function (resolve) {
    if (typeof wx.createSelectorQuery !== 'function') return resolve(null);
    var query = wx.createSelectorQuery();
    if (query && typeof query.in === 'function') query = query.in(page);
    if (!query || typeof query.select !== 'function') return resolve(null);
    query.select(selector).fields({ node: true, size: true }).exec(function (res) {
      var info = res && res[0];
      if (!info || !info.node || typeof info.node.getContext !== 'function' || !info.width) return resolve(null);
      var node = info.node;
      var ratio = pixelRatio();
      node.width = info.width * ratio;
      node.height = info.height * ratio;
      var ctx = node.getContext('2d');
      ctx.scale(ratio, ratio);
      resolve({ ctx: ctx, width: info.width, height: info.height });
    });
  });
}

function chart(page, selector) {
  var found = null;
  var pending = false;
  var wanted = null;

  function paint() {
    if (!found || !wanted) return;
    chartCore.drawTrend(found.ctx, {
      width: found.width,
      height: found.height,
      series: wanted.series,
      xLabel: wanted.xLabel,
      xFormat: wanted.xFormat
    });
  }

  function lookUp() {
    if (pending) return;
    pending = true;
    // the setData callback runs once the render layer has the data: the canvas exists by then
    page.setData({}, function () {
      init2d(page, selector).then(function (result) {
        pending = false;
        found = result;
        paint();
      });
    });
  }

  return {
    draw: function (options) {
      wanted = options;
      if (found) paint();
      else lookUp();
    },
    hasCanvas: function () { return !!found; }
  };
}

module.exports = { chart: chart, init2d: init2d };
