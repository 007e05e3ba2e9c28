/* Deal Pulse widget, supervisor panel: the per-manager report of the filtered period (deals created, in work, won,
   lost; tasks; contacts; calls) and, on a manager's name, that manager's deals that need attention. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, num = format.num, el = format.el, div = format.div;

  /** The per-manager report: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, api = ctx.api, errorBox = ctx.errorBox, loadingBox = ctx.loadingBox;

    function reportHtml(report) {
      var lang = state.lang, rows = (report && report.rows) || [];
      if (!rows.length) { return div('empty', esc(t('panel.report_empty'))); }
      function cell(count, sum) {
        return '<td class="' + el('num') + '">' + esc(num(count, lang)) + (sum ? '<div class="' + el('muted') +
          '">' + esc(num(sum, lang)) + '</div>' : '') + '</td>';
      }
      function seconds(s) {
        if (s === null || s === undefined) { return '—'; }
        s = Math.round(s);
        return s < 60 ? t('panel.report_seconds', {n: num(s, lang)}) :
          t('panel.report_minutes', {m: num(Math.floor(s / 60), lang), s: num(s % 60, lang)});
      }
      var team = report.team || {};
      var head = ['report_manager', 'report_created', 'report_in_work', 'report_won', 'report_lost', 'report_tasks',
                  'report_without_task', 'report_contacts', 'report_calls'].map(function (key, i) {
        return '<th' + (i ? ' class="' + el('num') + '"' : '') + '>' + esc(t('panel.' + key)) + '</th>';
      }).join('');
      return '<table class="' + el('table', CSS + '__report') + '"><tr>' + head + '</tr>' + rows.map(function (r) {
        return '<tr data-user="' + esc(r.user_id) + '"><td><a href="#" data-dp-action="manager-deals" data-user="' +
          esc(r.user_id) + '">' + esc(r.name || t('panel.user_no_name', {id: r.user_id})) + '</a></td>' +
          cell(r.created, r.created_amount) + cell(r.in_work, r.in_work_amount) + cell(r.won, r.won_amount) +
          cell(r.lost, r.lost_amount) +
          '<td class="' + el('num') + '">' + esc(num(r.open_tasks, lang) + ' (' + num(r.overdue_tasks, lang) + ')') +
          '</td>' +
          cell(r.deals_without_task) +
          '<td class="' + el('num') + '">' + esc(num(r.contacts_created, lang) + ' / ' + num(r.created, lang)) + '</td>' +
          '<td class="' + el('num') + '">' + esc(num(r.calls, lang)) + '<div class="' + el('muted') + '">' +
          esc(seconds(r.call_avg_seconds)) + '</div></td></tr>';
      }).join('') + '</table>' + div('legend', esc(t('panel.report_note') + (team.avg_calls ? ' ' +
        t('panel.report_team', {calls: num(team.avg_calls, lang), length: seconds(team.avg_call_seconds)}) : ''))) +
        '<div class="' + el('manager-deals') + '"></div>';
    }

    function showManagerDeals(target) {
      var user = $(target).attr('data-user'), box = view.panelRoot().find('.' + CSS + '__manager-deals');
      box.html(loadingBox('list.loading'));
      api('GET', '/attention?scope=visible&limit=50&user_id=' + encodeURIComponent(user))
        .done(function (data) {
          box.html('<h3 class="' + el('h2') + '">' + esc(t('panel.report_deals', {name: view.userName(user)})) +
            '</h3>' +
            view.attentionHtml(data || {}));
        })
        .fail(function (xhr) { box.html(errorBox(xhr, 'reload-panel')); });
    }

    return {reportHtml: reportHtml, showManagerDeals: showManagerDeals};
  };
});
