/* Deal Pulse widget, supervisor panel: the speed-to-lead section (issue 21): time to first contact per manager and
   source, requests waiting now, and the win rate by first-contact delay. */
define(['jquery', './format.js', './charts.js'], function ($, format, charts) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, num = format.num, pct = format.pct, fill = format.fill, el = format.el,
      div = format.div;
  var sourceName = charts.sourceName;

  /** The speed-to-lead section: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, plural = ctx.plural, minutesText = ctx.minutesText;


    function speedRows(rows, label) {
      var lang = state.lang;
      function cell(v, extra) { return '<td class="' + el('num') + '"' + (extra || '') + '>' + esc(v) + '</td>'; }
      return '<table class="' + el('table', CSS + '__speed-table') + '"><tr><th>' + esc(t(label)) + '</th>' +
        ['speed.median', 'speed.p80', 'speed.within', 'speed.waiting'].map(function (k) {
          return '<th class="' + el('num') + '">' + esc(t(k)) + '</th>';
        }).join('') + '</tr>' + rows.map(function (r) {
          var within = r.decided ? fill(t('speed.within_cell'), {share: pct(r.within_share, lang),
            k: num(r.within_limit, lang), n: num(r.decided, lang)}) : '—';
          var waiting = r.untouched_now ? fill(t('speed.waiting_cell'), {n: num(r.untouched_now, lang),
            longest: minutesText(r.longest_wait_minutes)}) : '—';
          return '<tr' + (r.untouched_now ? ' class="' + el('speed-waiting') + '"' : '') + '><td>' + esc(r.label) +
            '</td>' + cell(minutesText(r.median_minutes)) + cell(minutesText(r.p80_minutes)) + cell(within) +
            cell(waiting) + '</tr>';
        }).join('') + '</table>';
    }

    function delayHtml(buckets, working) {
      var lang = state.lang, closed = 0;
      buckets.forEach(function (b) { closed += b.closed || 0; });
      if (!closed) { return div('empty', esc(t('speed.by_delay_empty'))); }
      return '<table class="' + el('table', CSS + '__delay-table') + '"><tr><th>' + esc(t('speed.delay')) + '</th>' +
        '<th class="' + el('num') + '">' + esc(t('speed.closed')) + '</th><th class="' + el('num') + '">' +
        esc(t('speed.won')) + '</th><th>' + esc(t('speed.win_rate')) + '</th></tr>' + buckets.map(function (b) {
          var rate = b.rate === null || b.rate === undefined ? null : b.rate;
          var bar = rate === null ? '—' : '<span class="' + el('rate-bar') + '"><span style="width:' +
            Math.round(rate * 100) + '%"></span></span> ' + esc(pct(rate, lang));
          var name = 'speed.bucket_' + b.bucket + (b.bucket === '1d' && !working ? '_clock' : '');
          return '<tr data-bucket="' + esc(b.bucket) + '"><td>' + esc(t(name)) + '</td>' +
            '<td class="' + el('num') + '">' + esc(num(b.closed, lang)) + '</td><td class="' + el('num') + '">' +
            esc(num(b.won, lang)) + '</td><td>' + bar + '</td></tr>';
        }).join('') + '</table>';
    }

    function speedHtml(panel) {
      var s = panel.speed_to_lead, lang = state.lang;
      if (!s || !s.team || !s.team.deals && !(s.by_delay || []).some(function (b) { return b.closed; })) {
        return div('empty', esc(t('speed.empty')));
      }
      var team = s.team;
      var lead = team.untouched_now ? fill(t('speed.lead_waiting'), {
        n: plural(team.untouched_now, ['speed.requests_one', 'speed.requests_few', 'speed.requests_many']),
        longest: minutesText(team.longest_wait_minutes)}) : t('speed.lead_none');
      var summary = team.touched ? fill(t('speed.summary'), {median: minutesText(team.median_minutes),
        share: pct(team.within_share || 0, lang), limit: minutesText(s.limit_minutes)}) : '';
      var managers = (s.managers || []).map(function (m) {
        return $.extend({label: m.name || view.userName(m.user_id)}, m);
      });
      var sources = (s.sources || []).map(function (r) {
        return $.extend({label: r.source ? sourceName(r.source, t) : t('speed.no_source')}, r);
      });
      return div('lead', '<span class="' + el('big') + '">' + esc(lead) + '</span>' +
          (summary ? '<br>' + esc(summary) : '')) +
        (managers.length ? speedRows(managers, 'speed.manager') : '') +
        (sources.length ? speedRows(sources, 'speed.source') : '') +
        '<h3 class="' + el('h2') + '">' + esc(t('speed.by_delay_title')) + '</h3>' + delayHtml(s.by_delay || [], s.working_hours) +
        div('legend', esc(fill(t(s.working_hours ? 'speed.note_working' : 'speed.note_clock'),
          {limit: minutesText(s.limit_minutes)})));
    }

    return {speedHtml: speedHtml};
  };
});
