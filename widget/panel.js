/* Deal Pulse widget: the supervisor panel (Stats → supervisor panel, mode "team") and the frame of the admins' page
   (advanced_settings, mode "admin"): sections, their loading, the places that lose money, sync progress. The speed,
   plan editor, settings form, filters and per-manager report are modules of their own, reached through `view`. */
define(['jquery', './format.js', './charts.js', './style.js'], function ($, format, charts, style) {
  'use strict';

  var CSS = format.CSS, DAY = format.DAY, esc = format.esc, num = format.num, pct = format.pct,
      counted = format.counted, FORMS = format.FORMS, fill = format.fill, pick = format.pick, monthOf = format.monthOf,
      el = format.el, div = format.div;
  var funnelChart = charts.funnelChart, stageTimeChart = charts.stageTimeChart, incomingChart = charts.incomingChart,
      workloadChart = charts.workloadChart, planChart = charts.planChart, forecastChart = charts.forecastChart,
      monthName = charts.monthName, progressBar = charts.progressBar;
  var ensureStyle = style.ensureStyle;

  /** The supervisor panel: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, ago = ctx.ago, freshness = ctx.freshness, api = ctx.api, errorBox = ctx.errorBox,
        loadingBox = ctx.loadingBox, workArea = ctx.workArea;

    function panelRoot() {
      return $('#' + CSS + '-panel');
    }

    function section(name, titleKey, wide) {
      return '<section class="' + el('section', wide ? CSS + '__section--wide' : '') + '" data-section="' + name +
        '"><h2 class="' + el('h2') + '">' + esc(t(titleKey)) + '</h2><div class="' + el('section-body') + '">' +
        loadingBox('common.loading') + '</div></section>';
    }

    function fillSection(name, html) {
      panelRoot().find('[data-section="' + name + '"] .' + CSS + '__section-body').html(html);
    }

    function userName(id) {
      var panel = state.panel || {};
      var manager = (panel.managers || []).filter(function (m) { return String(m.user_id) === String(id); })[0];
      return (manager && manager.name) || t('panel.user_no_name', {id: id});
    }

    function placesHtml(places) {
      if (!places || !places.length) { return ''; }
      return '<ul class="' + el('places') + '">' + places.map(function (p) {
        return '<li class="' + el('place', CSS + '__place--' + esc(p.code)) + '" data-code="' + esc(p.code) + '">' +
          esc(pick(p.text, state.lang)) + '</li>';
      }).join('') + '</ul>';
    }

    function placeStatus(places, code) {
      var found = (places || []).filter(function (p) { return p.code === code; })[0];
      return found ? found.status_id : null;
    }

    function funnelHtml(panel) {
      var funnel = panel.funnel || [];
      if (!funnel.length) { return div('empty', esc(t('panel.empty'))); }
      var losses = panel.losses || {}, lang = state.lang, total = {count: 0, amount: 0};
      Object.keys(losses).forEach(function (k) {
        total.count += losses[k].count || 0;
        total.amount += losses[k].amount || 0;
      });
      var reasons = [];
      Object.keys(losses).forEach(function (k) {
        (losses[k].top_reasons || []).forEach(function (r) { reasons.push(r); });
      });
      return div('lead', esc(t('panel.funnel_lead', {deals: counted(t, FORMS.deals, total.count, lang),
        amount: num(total.amount, lang), days: counted(t, FORMS.days, panel.period_days || 30, lang)}))) +
        funnelChart(funnel, losses, placeStatus(panel.places, 'most_losses'), t, lang);
    }

    function timeHtml(panel) {
      var rows = panel.time_in_stage || [];
      if (!rows.length) { return div('empty', esc(t('panel.empty'))); }
      var hang = placeStatus(panel.places, 'longest_stage');
      return stageTimeChart(rows, hang, t, state.lang) + div('legend', esc(t('panel.time_note')));
    }

    function incomingHtml(panel) {
      var inc = panel.incoming || {}, lang = state.lang;
      if (panel.restricted && panel.incoming === null) { return div('empty', esc(t('panel.incoming_hidden'))); }
      if (!inc.total) { return div('empty', esc(t('panel.incoming_empty'))); }
      var rate = inc.rate && typeof inc.rate === 'object' ? inc.rate.value : inc.rate;
      return '<div class="' + el('lead') + '" data-total="' + esc(inc.total) + '" data-deals="' +
        esc(inc.became_deals) + '"><span class="' + el('big') + '">' + esc(fill(t('panel.incoming_total'),
        {incoming: counted(t, FORMS.requests, inc.total, lang), deals: counted(t, FORMS.deals, inc.became_deals, lang),
         rate: pct(rate, lang)})) +
        '</span></div>' + incomingChart(inc.by_source || [], t, lang) +
        div('legend', esc(t('panel.incoming_note')));  // the same figures under any pipeline or manager chosen
    }

    function workloadRows(panel) {
      var users = (panel.workload || {}).users || {};  // {user id: {open_deals, open_tasks}}
      return Object.keys(users).map(function (id) { return $.extend({user_id: id, name: userName(id)}, users[id]); });
    }

    function isIdleAdmin(panel, userId, busy) {
      var row = (panel.managers || []).filter(function (m) { return String(m.user_id) === String(userId); })[0];
      return !!(row && row.is_admin && !busy);
    }

    function workloadHtml(panel) {
      var median = (panel.workload || {}).median || {};
      var rows = workloadRows(panel).filter(function (r) { return !isIdleAdmin(panel, r.user_id, r.open_deals); });
      if (!rows.length) { return div('empty', esc(t('panel.empty'))); }
      rows.sort(function (a, b) { return (b.open_deals || 0) - (a.open_deals || 0); });
      return workloadChart(rows, median.open_deals, t, state.lang);
    }

    function planRows(panel) {
      return (panel.managers || []).map(function (m) {
        var plan = m.plan || {};
        var pace = plan.days_total ? (plan.days_total - (plan.days_left || 0)) / plan.days_total : null;
        return {user_id: m.user_id, hidden: !!m.hidden_by_rights, name: m.name || userName(m.user_id),
                plan_amount: plan.plan_amount,
                fact_amount: plan.fact_amount || 0, projected_amount: m.projected_amount !== undefined ?
                  m.projected_amount : plan.projected_amount, p_plan_met: m.p_plan_met, pace_share: pace};
      });
    }

    /** Whether the manager or group filter keeps this user (the plans list came unfiltered beside a filtered
        workload and report). */
    function chosenManager(userId) {
      var f = (state.panelRaw || {}).filters || {}, users = ((state.panelRaw || {}).options || {}).users || [];
      if (f.user_id) { return String(f.user_id) === String(userId); }
      if (!f.group_id) { return true; }
      return users.some(function (u) {
        return String(u.id) === String(userId) && String(u.group_id) === String(f.group_id);
      });
    }

    function plansHtml(panel) {
      var all = planRows(panel), hidden = all.some(function (r) { return r.hidden; });
      var rows = all.filter(function (r) {
        return !r.hidden && !isIdleAdmin(panel, r.user_id, r.plan_amount) && chosenManager(r.user_id);
      });
      // a plan's fact sums every deal of the manager: not shown when amoCRM hides some of them from the caller
      var note = hidden ? div('legend', esc(t('panel.plans_hidden'))) : '';
      if (!rows.length) { return (hidden ? '' : div('empty', esc(t('panel.plans_empty')))) + note; }
      return planMonthHtml(panel) + planChart(rows, t, state.lang) + div('legend', esc(t('panel.plans_legend'))) +
        note;
    }

    /** Which month the plans are, beside a period filter they do not follow («Прошлый месяц» showed this
        one's). */
    function planMonthHtml(panel) {
      var month = (panel.plans || {}).month, noon = month ? format.localNoon(month + '-15', state.timezone) : null;
      if (!noon) { return ''; }
      var name = monthName(noon, state.lang, state.timezone);
      return div('muted', esc(t('panel.plans_month', {month: name.charAt(0).toUpperCase() + name.slice(1)})));
    }

    function forecastHtml(panel) {
      var fc = panel.forecast || {}, months = (fc.months || []).slice(0, 3), lang = state.lang;
      if (panel.restricted) { return div('empty', esc(t('panel.forecast_hidden'))); }
      if (!months.length) { return div('empty', esc(t('panel.forecast_empty'))); }
      var acc = panel.backtest || {};
      var n = acc.months && acc.months.length, lean = Math.round((acc.bias || 0) * 100);
      // words, not WAPE and a signed bias: how far off, which way, and in how many months the actual was inside
      var accuracy = n ? t('panel.forecast_accuracy', {months: num(n, lang), wape: pct(acc.wape, lang),
        bias: t(lean > 0 ? 'panel.forecast_bias_over' : lean < 0 ? 'panel.forecast_bias_under' :
          'panel.forecast_bias_none', {n: pct(Math.abs(acc.bias || 0), lang)}),
        inside: num(Math.round((acc.coverage || 0) * n), lang)}) : t('panel.forecast_no_accuracy');
      var table = '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.forecast_month')) + '</th><th class="' +
        el('num') + '">P10</th><th class="' + el('num') + '">P50</th><th class="' + el('num') + '">P90</th>' +
        '<th class="' +
        el('num') + '">' + esc(t('panel.forecast_won')) + '</th></tr>' + months.map(function (m) {
          return '<tr><td>' + esc(monthName(m.start, lang, state.timezone)) + '</td><td class="' + el('num') + '">' +
            esc(num(m.p10, lang)) + '</td><td class="' + el('num') + '">' + esc(num(m.p50, lang)) + '</td><td class="' +
            el('num') + '">' + esc(num(m.p90, lang)) + '</td><td class="' + el('num') + '">' +
            esc(num(m.won_so_far || 0, lang)) + '</td></tr>';
        }).join('') + '</table>';
      return forecastChart(months, t, lang, state.timezone) + div('lead', esc(accuracy), ' data-accuracy="1"') + table;
    }

    function usefulnessHtml(panel) {
      var rules = panel.usefulness || [], lang = state.lang;
      if (!rules.length) { return div('empty', esc(t('panel.usefulness_empty'))); }
      var names = {stuck_in_stage: t('panel.rule_stuck_in_stage'), no_open_task: t('panel.rule_no_open_task'),
                   overdue_task: t('panel.rule_overdue_task'), no_activity: t('panel.rule_no_activity'),
                   close_date_passed: t('panel.rule_close_date_passed'),
                   close_date_pushed: t('panel.rule_close_date_pushed'), win_chance: t('panel.rule_win_chance'),
                   plan_impact: t('panel.rule_plan_impact'),
                   first_contact_overdue: t('panel.rule_first_contact_overdue')};
      function cell(v) { return '<td class="' + el('num') + '">' + esc(v) + '</td>'; }
      return '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.usefulness_rule')) + '</th>' +
        ['panel.usefulness_shown', 'panel.usefulness_dismissed', 'panel.usefulness_snoozed',
         'panel.usefulness_resolved'].map(function (key) {
          return '<th class="' + el('num') + '">' + esc(t(key)) + '</th>';
        }).join('') + '</tr>' + rules.map(function (r) {
          var resolved = r.resolved_share !== undefined ? r.resolved_share : null;
          return '<tr data-rule="' + esc(r.code) + '"><td>' + esc(names[r.code] || r.code) + '</td>' +
            cell(num(r.shown || 0, lang)) + cell(num(r.dismissed || 0, lang)) + cell(num(r.snoozed || 0, lang)) +
            cell(pct(resolved, lang)) + '</tr>';
        }).join('') + '</table>';
    }

    function changesHtml(panel) {
      var day = (panel.changes || {}).last_24h, lang = state.lang;
      if (!day) { return ''; }
      return div('muted', esc(t('panel.changes', {created: num(day.created, lang), won: num(day.won, lang),
        won_amount: num(day.won_amount, lang), lost: num(day.lost, lang), lost_amount: num(day.lost_amount, lang)})));
    }

    function syncHtml(sync) {
      var lang = state.lang, percent = sync.percent || 0, label;
      if (sync.state === 'running') {
        label = t('panel.sync_running', {percent: num(percent, lang, 0),
                                         entities: num(sync.entities_done || 0, lang)}) +
          (sync.eta_seconds ? ' · ' + t('panel.sync_eta', {n: num(Math.ceil(sync.eta_seconds / 60), lang)}) : '');
      } else if (sync.state === 'done') {
        label = t('panel.sync_done', {ago: sync.finished_at ? ago(sync.finished_at) : ''});
      } else if (sync.state === 'never') {
        label = t('panel.sync_never');
      } else {
        label = t('panel.sync_stopped', {reason: sync.reason || sync.state || ''});
      }
      return '<div data-percent="' + esc(percent) + '" data-state="' + esc(sync.state) + '">' + esc(label) + '</div>' +
        (sync.state && sync.state !== 'never' ? progressBar(percent, label) : '');
    }
    function loadSync() {
      api('GET', '/sync')
        .done(function (sync) {
          panelRoot().find('.' + CSS + '__sync').html(syncHtml(sync || {}));
          if (sync && sync.state === 'running') {
            state.syncTimer = setTimeout(loadSync, 5000);
          }
        })
        .fail(function () { panelRoot().find('.' + CSS + '__sync').empty(); });
    }

    /** The panel answer flattened: the team insight's fields at the top, beside forecast, managers, usefulness. */
    function normalizePanel(raw) {
      raw = raw || {};
      var team = raw.team || {}, period = team.period;
      return $.extend({}, team, {
        as_of: raw.as_of || team.as_of, forecast: raw.forecast, backtest: raw.backtest, managers: raw.managers || [],
        usefulness: raw.usefulness || [], sync: raw.sync, plans: raw.plans, speed_to_lead: raw.speed_to_lead,
        restricted: !!raw.restricted,
        period_days: period && period.length === 2 ? Math.round((period[1] - period[0]) / DAY) : 30
      });
    }

    function renderPanelSections(panel) {
      state.panel = panel;
      panelRoot().find('.' + CSS + '__places-slot').html(placesHtml(panel.places) + changesHtml(panel));
      panelRoot().find('.' + CSS + '__as-of').text(freshness(panel.as_of));
      fillSection('funnel', funnelHtml(panel));
      fillSection('time', timeHtml(panel));
      fillSection('incoming', incomingHtml(panel));
      fillSection('workload', workloadHtml(panel));
      fillSection('plans', plansHtml(panel));
      fillSection('forecast', forecastHtml(panel));
      fillSection('usefulness', usefulnessHtml(panel));
      fillSection('speed', view.speedHtml(panel));
    }

    var PANEL_SECTIONS = ['funnel', 'time', 'incoming', 'workload', 'plans', 'forecast', 'usefulness', 'speed', 'report'];

    function loadPanel() {
      var root = panelRoot();
      root.find('.' + CSS + '__places-slot').empty();
      PANEL_SECTIONS.concat(['plan-editor', 'settings']).forEach(function (name) {
        fillSection(name, loadingBox('common.loading'));
      });
      api('GET', '/panel' + view.panelQuery())
        .done(function (raw) {
          view.renderFilteredPanel(raw);
          if (state.panelMode === 'admin') {  // the admin page: plans and settings need the panel's managers
            // the month the API answered (the account's), not the browser's: they differ for hours at a month's turn
            view.loadPlans(state.planMonth || (raw.plans || {}).month || monthOf(Date.now() / 1000, state.timezone));
            view.loadSettings();
          }
        })
        .fail(function (xhr) {
          if (xhr && xhr.status === 403) {  // not a supervisor: say so once, not in every section
            root.find('.' + CSS + '__grid, .' + CSS + '__places-slot, .' + CSS + '__sync').remove();
            root.append(div('error', esc(t('panel.supervisors_only'))) +
              div('muted', esc(t('panel.see_attention', {page: t('menu.attention')}))));
            return;
          }
          if (!root.find('.' + CSS + '__places-slot').length) {  // the admins' page has no slot of its own
            root.find('.' + CSS + '__grid').before('<div class="' + el('places-slot') + '"></div>');
          }
          root.find('.' + CSS + '__places-slot').html(errorBox(xhr, 'reload-panel'));
          PANEL_SECTIONS.concat(['plan-editor', 'settings']).forEach(function (name) {
            fillSection(name, div('muted', esc(t('panel.unavailable'))));
          });
        });
      loadSync();
    }

    var panelActions = {
      'reload-panel': loadPanel,
      'manager-deals': function (target) { view.showManagerDeals(target); },
      'reload-plans': function () { view.loadPlans(state.planMonth); },
      'reload-settings': function () { view.loadSettings(); },
      'save-plans': function () { view.savePlans(); },
      'save-settings': function () {
        view.saveButton('settings', 'PUT', '/settings', view.collectSettings(), function (saved) {
          if (saved && saved.stages) { fillSection('settings', view.settingsHtml(saved)); }
          panelRoot().find('[data-section="settings"] .' + CSS + '__status')
            .attr('class', el('status', CSS + '__note')).text(t('common.saved'));
        });
      }
    };
    /** The supervisor panel (mode "team", the Stats page) or the admin page (mode "admin", advanced_settings:
        plans, thresholds and supervisors only). */
    function renderPanelArea(mode) {
      state.panelMode = mode;
      var admin = mode === 'admin';
      ensureStyle();
      // amoCRM titles the advanced_settings page from the manifest's "advanced" block: no second title there.
      workArea().html('<div class="' + CSS + ' ' + CSS + '--panel" id="' + CSS + '-panel">' +
        '<div class="' + el('header') + '"><div>' + (admin ? '' : '<h1 class="' + el('h1') + '">' +
        esc(t('panel.title')) + '</h1><div class="' + el('as-of', CSS + '__muted') + '"></div>') + '</div>' +
        '<div class="' + el('sync') + '"></div></div>' +
        (admin ? '' : '<div class="' + el('filters-slot') + '"></div><div class="' + el('places-slot') + '"></div>') + '<div class="' + el('grid') + '">' +
        (admin ? section('plan-editor', 'panel.plan_editor_title') + section('settings', 'panel.settings_title') :
          section('funnel', 'panel.funnel_title') + section('time', 'panel.time_title') +
          section('speed', 'speed.title', true) +
          section('incoming', 'panel.incoming_title') + section('workload', 'panel.workload_title') +
          section('plans', 'panel.plans_title') + section('forecast', 'panel.forecast_title') +
          section('report', 'panel.report_title', true) +
          section('usefulness', 'panel.usefulness_title', true)) + '</div></div>');
      var root = panelRoot();
      root.on('click', '[data-dp-action]', function (event) {
        var handler = panelActions[$(this).attr('data-dp-action')];
        if (handler) { event.preventDefault(); handler(this); }
      });
      root.on('change', '[data-dp-filter]', function () {
        view.changeFilter($(this).attr('data-dp-filter'), $(this).val());
      });
      root.on('change', '[data-dp-plan-month]', function () {
        if ($(this).val()) { view.loadPlans($(this).val()); }
      });
      loadPanel();
    }

    return {panelRoot: panelRoot, fillSection: fillSection, userName: userName, workloadRows: workloadRows,
            plansHtml: plansHtml, normalizePanel: normalizePanel, renderPanelSections: renderPanelSections,
            render: renderPanelArea};
  };
});
