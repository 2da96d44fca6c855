/**
 * core/money.js: money as integer fen (分), shown as yuan (元). No floating-point arithmetic on amounts.
 *
 * API:
 *   yuan(fen)            12345 → '123.45', -5 → '-0.05', 0 → '0.00'; throws TypeError unless fen is a safe integer
 *   yuanLabel(fen)       12345 → '¥123.45', -5 → '-¥0.05'
 *   fenFromYuan(text)    '12.3' → 1230, '¥0.05' → 5, '-1' → -100, 12 → 1200; throws MoneyParseError
 *                        (code 'MONEY_PARSE') for empty text, more than two decimals, exponents or junk
 *   priceE4(e4)          tariff unit prices are 0.0001 yuan: 12345 → '1.2345'
 *   MoneyParseError      constructor of the parse error (err.name === 'MoneyParseError')
 */

function checkInt(value, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(what + ' must be an integer, got ' + String(value));
  }
}

function pad(digits, width) {
  var text = String(digits);
  while (text.length < width) text = '0' + text;
  return text;
}

function scaled(value, divisor, decimals) {
  var negative = value < 0;
  var abs = negative ? -value : value;
  var whole = Math.floor(abs / divisor);
  var part = abs % divisor;
  return (negative ? '-' : '') + whole + '.' + pad(part, decimals);
}

function yuan(fen) {
  checkInt(fen, 'fen');
  return scaled(fen, 100, 2);
}

function yuanLabel(fen) {
  var text = yuan(fen);
  return text.charAt(0) === '-' ? '-¥' + text.slice(1) : '¥' + text;
}

function priceE4(e4) {
  checkInt(e4, 'price');
  return scaled(e4, 10000, 4);
}

function MoneyParseError(message, input) {
  var error = new Error(message);
  error.name = 'MoneyParseError';
  error.code = 'MONEY_PARSE';
  error.input = input;
  Object.setPrototypeOf(error, MoneyParseError.prototype);
  return error;
}
MoneyParseError.prototype = Object.create(Error.prototype, {
  constructor: { value: MoneyParseError, writable: true, configurable: true }
});

var YUAN = /^([+-]?)¥?(\d{1,13})(?:\.(\d{0,2}))?$/;

function fenFromYuan(text) {
  if (typeof text === 'number') {
    if (!isFinite(text)) throw new MoneyParseError('金额格式不正确', text);
    text = String(text);
  }
  if (typeof text !== 'string') throw new MoneyParseError('请输入金额', text);
  var match = YUAN.exec(text.trim().replace(/\s+/g, ''));
  if (!match) throw new MoneyParseError('金额格式不正确，最多两位小数', text);
  var decimals = (match[3] || '') + '00';
  var fen = parseInt(match[2], 10) * 100 + parseInt(decimals.slice(0, 2), 10);
  return match[1] === '-' && fen !== 0 ? -fen : fen;
}

module.exports = {
  yuan: yuan,
  yuanLabel: yuanLabel,
  fenFromYuan: fenFromYuan,
  priceE4: priceE4,
  MoneyParseError: MoneyParseError
};
