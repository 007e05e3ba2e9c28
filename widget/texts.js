/* Deal Pulse widget: its words for people. Texts of i18n/<lang>.json by dotted key, plurals chosen on the number as
   shown, "updated 5 minutes ago", working minutes as minutes, hours or days. One set per widget object. */
define(['./format.js'], function (format) {
  'use strict';

  var DAY = format.DAY, num = format.num, pluralIndex = format.pluralIndex, fill = format.fill;

  /** The text helpers of one widget object: `self` is amoCRM's widget (self.i18n), `state.lang` the language. */
  return function texts(self, state) {
    /** A string of i18n/<lang>.json by its dotted key ("card.loading"). */
    function t(key, vars) {
      var parts = key.split('.'), value = self.i18n(parts[0]);
      for (var i = 1; i < parts.length && value; i++) { value = value[parts[i]]; }
      return fill(value === undefined || value === null ? key : value, vars);
    }

    /** "{n} <form>" with the language's plural form; `keys` are the one/few/many keys. */
    function plural(n, keys) {
      return t(keys[pluralIndex(n, state.lang)], {n: num(n, state.lang)});
    }

    function ago(asOf) {
      var seconds = Math.max(0, Date.now() / 1000 - asOf);
      if (seconds < 60) { return t('common.just_now'); }
      if (seconds < 3600) { return t('common.minutes_ago', {n: num(Math.round(seconds / 60), state.lang)}); }
      if (seconds < DAY) { return t('common.hours_ago', {n: num(Math.round(seconds / 3600), state.lang)}); }
      return t('common.days_ago', {n: num(Math.round(seconds / DAY), state.lang)});
    }

    function freshness(asOf) {
      return asOf ? t('common.updated', {ago: ago(asOf)}) : '';
    }

    /** Working minutes for people: "12 минут" below 90 minutes, "1,5 часа" above. */
    function minutesText(m) {
      if (m === null || m === undefined) { return '—'; }
      if (m < 90) { return plural(Math.round(m), ['speed.minutes_one', 'speed.minutes_few', 'speed.minutes_many']); }
      var h = m / 60;
      if (h >= 48) {  // reached only around the clock: 48 working hours span more than the 7 days a request is new
        var d = h / 24;
        return plural(d < 10 ? Math.round(d * 10) / 10 : Math.round(d), ['common.days_one', 'common.days_few',
          'common.days_many']);
      }
      h = h < 10 ? Math.round(h * 10) / 10 : Math.round(h);
      return plural(h, ['common.hours_one', 'common.hours_few', 'common.hours_many']);
    }

    return {t: t, plural: plural, ago: ago, freshness: freshness, minutesText: minutesText};
  };
});
