/* Deal Pulse widget: pure helpers every part shares (escaping, numbers and plurals for people, the widget's class
   names, HTML snippets). No state, no DOM, no API. */
define([], function () {
  'use strict';

  var CSS = 'deal-pulse';
  var NBSP = '\u00a0';
  var DAY = 86400;

  // ---------------------------------------------------------------- text, numbers, HTML

  function esc(text) {
    return String(text === undefined || text === null ? '' : text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  /** amoCRM's interface language: Russian by default, English for every other (Kommo's es, pt, ...). */
  function language() {
    var lang = String((window.APP && APP.lang_id) || 'ru').toLowerCase();
    return lang.indexOf('ru') === 0 ? 'ru' : 'en';
  }

  /** The number exactly as num() prints it by default (the server's texts.shown): one decimal below 10 when
   *  fractional, whole otherwise, halves away from zero. Plurals are chosen on this, never on the raw value. */
  function shown(x) {
    var sign = x < 0 ? -1 : 1, tenth = Math.round(Math.abs(x) * 10) / 10;
    if (tenth >= 10 || tenth === Math.round(tenth)) { return sign * Math.round(Math.abs(x)); }
    return sign * tenth;
  }

  /** A number for people: 94 000 (ru, no-break space) / 94,000 (en); `digits` decimals below 10. */
  function num(x, lang, digits) {
    if (x === null || x === undefined || isNaN(x)) { return '—'; }
    x = Number(x);
    if (digits === undefined) { x = shown(x); }
    var places = digits === undefined ? (Math.round(x) !== x ? 1 : 0) : digits;
    var fixed = Math.abs(x).toFixed(places).split('.');
    var whole = fixed[0].replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'ru' ? NBSP : ',');
    var text = whole + (fixed[1] ? (lang === 'ru' ? ',' : '.') + fixed[1] : '');
    return (x < 0 && Number(fixed.join('.')) !== 0 ? '−' : '') + text;
  }

  function pct(share, lang) {
    return share === null || share === undefined ? '—' : num(Math.round(share * 100), lang, 0) + '%';
  }

  /** A probability: «> 99%» and «< 1%» at the ends, since a simulated chance is never certain (the panel read
   *  «шанс 100%» and «шанс 0%» beside forecasts that could still miss or make it). */
  function chance(p, lang) {
    if (p === null || p === undefined) { return '—'; }
    if (p > 0.995) { return '> 99%'; }
    if (p < 0.005) { return '< 1%'; }
    return pct(p, lang);
  }

  function signedPct(share, lang) {
    return (share > 0 ? '+' : '') + pct(share, lang);
  }

  /** Plural form index of n as num() shows it: Russian 1 день, 2 дня, 5 дней, and a fraction takes the genitive
   *  singular (1,5 дня); English one only for exactly 1. */
  function pluralIndex(n, lang) {
    n = Math.abs(shown(Number(n)));
    if (n !== Math.round(n)) { return lang === 'ru' ? 1 : 2; }
    if (lang !== 'ru') { return n === 1 ? 0 : 2; }
    if (n % 10 === 1 && n % 100 !== 11) { return 0; }
    if (n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14)) { return 1; }
    return 2;
  }

  /** The one/few/many text keys of the counts the panel prints. */
  var FORMS = {days: ['common.days_one', 'common.days_few', 'common.days_many'],
               deals: ['common.deals_one', 'common.deals_few', 'common.deals_many'],
               tasks: ['common.tasks_one', 'common.tasks_few', 'common.tasks_many'],
               requests: ['speed.requests_one', 'speed.requests_few', 'speed.requests_many']};

  /** "{n} <form>" by the number as shown, `forms` one of FORMS (for the parts that get only `t`). */
  function counted(t, forms, n, lang) {
    return t(forms[pluralIndex(n, lang)], {n: num(n, lang)});
  }

  function fill(template, vars) {
    return String(template === undefined ? '' : template).replace(/\{(\w+)\}/g, function (m, name) {
      return vars && vars[name] !== undefined ? vars[name] : m;
    });
  }

  function pick(texts, lang) {
    if (!texts) { return ''; }
    if (typeof texts === 'string') { return texts; }
    return texts[lang] || texts.ru || texts.en || '';
  }

  // ---------------------------------------------------------------- the account's calendar
  // Every date the widget shows or sends is a day of the account's timezone (the API's `timezone`), never the
  // browser's: a supervisor in Honolulu reading a Moscow account sees Moscow's days. Intl.DateTimeFormat's
  // timeZone option is standard ECMAScript (ECMA-402), not an amoCRM API.

  /** The calendar fields of a moment (unix seconds) in an IANA timezone; an unknown name falls back to UTC. */
  function zoned(ts, tz) {
    var parts = {};
    try {
      new Intl.DateTimeFormat('en-US', {timeZone: tz || 'UTC', hourCycle: 'h23', year: 'numeric', month: 'numeric',
        day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'})
        .formatToParts(new Date(ts * 1000)).forEach(function (p) { parts[p.type] = Number(p.value); });
    } catch (e) {
      return tz && tz !== 'UTC' ? zoned(ts, 'UTC') : null;
    }
    return {year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute,
            second: parts.second};
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  /** 'YYYY-MM-DD': the account-local day of a moment. */
  function dayKey(ts, tz) {
    var z = zoned(ts, tz);
    return z ? z.year + '-' + pad(z.month) + '-' + pad(z.day) : '';
  }

  /** 'YYYY-MM': the account-local month of a moment. */
  function monthOf(ts, tz) {
    return dayKey(ts, tz).slice(0, 7);
  }

  /** A day for people in the account's timezone: «5 декабря 2025» (texts add «года») / "December 5, 2025". */
  function dayName(ts, lang, tz) {
    try {
      return new Date(ts * 1000).toLocaleDateString(lang === 'ru' ? 'ru-RU' : 'en-US',
        {day: 'numeric', month: 'long', year: 'numeric', timeZone: tz || 'UTC'}).replace(/\s*г\.$/, '');
    } catch (e) {  // an unknown timezone name
      return dayKey(ts, 'UTC');
    }
  }

  /** Unix seconds of 12:00 on an account-local day 'YYYY-MM-DD' (noon: inside the day whatever DST does). */
  function localNoon(day, tz) {
    var p = String(day || '').split('-');
    if (p.length !== 3 || !+p[0]) { return null; }
    var guess = Date.UTC(+p[0], +p[1] - 1, +p[2], 12) / 1000, z = zoned(guess, tz);
    if (!z) { return guess; }
    var offset = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second) / 1000 - guess;
    return guess - offset;
  }

  function el(name, extra) {
    return CSS + '__' + name + (extra ? ' ' + extra : '');
  }

  function div(name, html, attrs) {
    return '<div class="' + el(name) + '"' + (attrs || '') + '>' + html + '</div>';
  }

  function button(action, label, extra, attrs) {
    return '<button type="button" class="' + el('button', extra ? CSS + '__button--' + extra : '') +
      '" data-dp-action="' + esc(action) + '"' + (attrs || '') + '>' + esc(label) + '</button>';
  }

  return {CSS: CSS, NBSP: NBSP, DAY: DAY, esc: esc, language: language, shown: shown, num: num, pct: pct,
          signedPct: signedPct, chance: chance, pluralIndex: pluralIndex, FORMS: FORMS, counted: counted,
          fill: fill, pick: pick, el: el, div: div, button: button, zoned: zoned, dayKey: dayKey, dayName: dayName,
          monthOf: monthOf, localNoon: localNoon};
});
