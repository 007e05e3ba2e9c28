/* Deal Pulse widget, supervisor panel: the filters (period, pipeline, manager, group) and the panel read again for
   them; the query string they make is what every section that loads data follows. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, el = format.el;

  /** The panel filters: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, api = ctx.api, errorBox = ctx.errorBox;

    /** The panel's query string from the chosen filters: any panel section that loads data can follow it. */
    function panelQuery() {
      var f = state.filters || {}, parts = [];
      ['from', 'to', 'pipeline_id', 'user_id', 'group_id'].forEach(function (key) {
        if (f[key] !== undefined && f[key] !== null && f[key] !== '') {
          parts.push(key + '=' + encodeURIComponent(f[key]));
        }
      });
      return parts.length ? '?' + parts.join('&') : '';
    }

    /** The account-local day of a moment, for a date input (toISOString would give the UTC day). */
    function dayInput(ts) {
      return ts ? format.dayKey(ts, state.timezone) : '';
    }

    /** A picked calendar day as 12:00 of that day in the account's timezone: the server counts its whole days
        (12:00 UTC would be the next day east of UTC+12, e.g. Kamchatka). */
    function dayNoon(value) {
      return format.localNoon(value, state.timezone);
    }

    var FILTER_LABELS = {period: 'panel.filter_period', pipeline_id: 'panel.filter_pipeline_id',
                         user_id: 'panel.filter_user_id', group_id: 'panel.filter_group_id'};
    var PERIOD_LABELS = {last_30: 'panel.period_last_30', this_month: 'panel.period_this_month',
                         last_month: 'panel.period_last_month', this_quarter: 'panel.period_this_quarter',
                         last_90: 'panel.period_last_90'};

    function filterSelect(name, options, chosen) {
      return '<label class="' + el('filter') + '"><span>' + esc(t(FILTER_LABELS[name])) + '</span><select ' +
        'class="' + el('input', CSS + '__input--field') + '" data-dp-filter="' + name + '">' +
        options.map(function (o) {
          return '<option value="' + esc(o.value) + '"' + (String(o.value) === String(chosen) ? ' selected' : '') +
            '>' + esc(o.label) + '</option>';
        }).join('') + '</select></label>';
    }

    function filtersHtml(raw) {
      var o = raw.options, f = raw.filters, chosen = state.filters || {};
      if (!o || !f) { return ''; }
      var periods = (o.periods || []).filter(function (p) { return PERIOD_LABELS[p.code]; }).map(function (p) {
        return {value: p.code, label: t(PERIOD_LABELS[p.code])};
      });
      periods.push({value: 'custom', label: t('panel.period_custom')});
      var period = chosen.period || 'last_30';
      var html = filterSelect('period', periods, period);
      if (period === 'custom') {
        html += '<div class="' + el('filter') + '"><span>' + esc(t('panel.filter_days')) + '</span><span class="' +
          el('filter-days') + '"><input type="date" class="' + el('input') + '" data-dp-filter="from" value="' +
          esc(dayInput(f.from)) + '"> – <input type="date" class="' + el('input') + '" data-dp-filter="to" value="' +
          esc(dayInput(f.to - 1)) + '"></span></div>';
      }
      html += filterSelect('pipeline_id', (o.pipelines || []).map(function (p) {
        return {value: p.id, label: p.name};
      }), f.pipeline_id);
      html += filterSelect('user_id', [{value: '', label: t('panel.filter_everyone')}].concat(
        (o.users || []).map(function (u) { return {value: u.id, label: u.name || t('panel.user_no_name', {id: u.id})}; })),
        f.user_id || '');
      if ((o.groups || []).length) {
        html += filterSelect('group_id', [{value: '', label: t('panel.filter_all_groups')}].concat(
          o.groups.map(function (g) { return {value: g, label: t('panel.group_name', {id: g})}; })), f.group_id || '');
      }
      return '<div class="' + el('filters') + '">' + html + '</div>';
    }

    /** Apply one changed filter: a preset sets from/to from the server's calendar, custom days as local days. */
    function changeFilter(name, value) {
      var f = state.filters = state.filters || {}, raw = state.panelRaw || {};
      if (name === 'period') {
        f.period = value;
        var preset = ((raw.options || {}).periods || []).filter(function (p) { return p.code === value; })[0];
        if (preset) { f.from = preset.from; f.to = preset.to; }
        if (value === 'last_30') { f.from = f.to = null; }  // the default follows the clock
      } else if (name === 'from') {
        f.from = dayNoon(value);
      } else if (name === 'to') {
        var end = dayNoon(value);
        f.to = end === null ? null : end + 1;  // the chosen day itself is included
      } else {
        f[name] = value === '' ? null : value;
        if (name === 'user_id' && f.user_id) { f.group_id = null; }
      }
      loadFilteredPanel();
    }

    function loadFilteredPanel() {
      api('GET', '/panel' + panelQuery())
        .done(function (raw) { renderFilteredPanel(raw); })
        .fail(function (xhr) {
          view.panelRoot().find('.' + CSS + '__places-slot').html(errorBox(xhr, 'reload-panel'));
        });
    }

    function renderFilteredPanel(raw) {
      state.panelRaw = raw || {};
      state.timezone = state.panelRaw.timezone || (state.panelRaw.filters || {}).timezone || state.timezone;
      view.panelRoot().find('.' + CSS + '__filters-slot').html(filtersHtml(state.panelRaw));
      view.renderPanelSections(view.normalizePanel(raw));
      view.fillSection('report', view.reportHtml(state.panelRaw.report));
      showHistory(state.panelRaw.filters || {});
      view.panelRoot().attr('data-dp-loaded', panelQuery());  // which filters the figures on screen answer
    }

    var BEFORE_HISTORY = ['funnel', 'time', 'incoming', 'workload', 'speed', 'report'];  // the period's figures

    /** Where the account's history starts, when the period reaches before it: a figure we do not hold is unknown,
        never zero. A period cut to the history says so; one wholly before it shows no figures at all. */
    function showHistory(f) {
      if (!f.history) { return; }
      var date = format.dayName(f.available_from, state.lang, state.timezone);
      view.panelRoot().find('.' + CSS + '__filters-slot').append(format.div('history',
        esc(t(f.history === 'before' ? 'panel.history_before' : 'panel.history_clamped', {date: date}))));
      if (f.history === 'before') {
        view.panelRoot().find('.' + CSS + '__places-slot').empty();
        BEFORE_HISTORY.forEach(function (name) {
          view.fillSection(name, format.div('empty', esc(t('panel.history_unknown', {date: date}))));
        });
      }
    }

    return {panelQuery: panelQuery, changeFilter: changeFilter, renderFilteredPanel: renderFilteredPanel};
  };
});
