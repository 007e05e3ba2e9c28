/* Deal Pulse widget, the admins' page (advanced_settings): the plan editor, month × manager, amount and count; one PUT
   per changed plan. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, el = format.el, div = format.div, button = format.button;

  /** The plan editor: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, api = ctx.api, failure = ctx.failure, errorBox = ctx.errorBox,
        loadingBox = ctx.loadingBox;

    function planEditorHtml(plans, month) {
      var managers = editableManagers();
      if (!managers.length) { return div('empty', esc(t('panel.plans_no_managers'))); }
      var byUser = {};
      (plans || []).forEach(function (p) { if (p.month === month) { byUser[p.user_id || 'account'] = p; } });
      function input(kind, user, value) {
        return '<input class="' + el('input') + '" type="number" min="0" step="1" data-kind="' + kind +
          '" data-user="' + esc(user) + '" value="' + esc(value === null || value === undefined ? '' : value) + '">';
      }
      return '<div class="' + el('form-row') + '"><label>' + esc(t('panel.plan_month')) + '</label><input class="' +
        el('input') + '" type="month" data-dp-plan-month value="' + esc(month) + '"></div>' +
        '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.plan_manager')) + '</th><th>' +
        esc(t('panel.plan_amount')) + '</th><th>' + esc(t('panel.plan_count')) + '</th></tr>' +
        managers.map(function (m) {
          var plan = byUser[m.user_id] || {};
          return '<tr data-user="' + esc(m.user_id) + '"><td>' + esc(m.name) + '</td><td>' +
            input('amount', m.user_id, plan.amount) + '</td><td>' + input('count', m.user_id, plan.count) +
            '</td></tr>';
        }).join('') + '</table><div class="' + el('actions') + '">' +
        button('save-plans', t('common.save'), 'primary') + '<span class="' + el('status') + '"></span></div>' +
        div('legend', esc(t('panel.plan_hint')));
    }

    function editableManagers() {
      var panel = state.panel || {}, seen = {}, out = [];
      (panel.managers || []).forEach(function (m) {
        seen[m.user_id] = true;
        out.push({user_id: m.user_id, name: m.name || view.userName(m.user_id)});
      });
      view.workloadRows(panel).forEach(function (r) {
        if (!seen[r.user_id]) { seen[r.user_id] = true; out.push({user_id: r.user_id, name: r.name}); }
      });
      return out;
    }

    function loadPlans(month) {
      state.planMonth = month;
      view.fillSection('plan-editor', loadingBox('common.loading'));
      api('GET', '/plans?month=' + encodeURIComponent(month))
        .done(function (data) {
          state.plans = (data && data.items) || [];
          view.fillSection('plan-editor', planEditorHtml(state.plans, month));
        })
        .fail(function (xhr) { view.fillSection('plan-editor', errorBox(xhr, 'reload-plans')); });
    }

    /** The plans typed in that differ from the saved ones (an emptied row removes its plan). */
    function changedPlans() {
      var month = state.planMonth, rows = {}, held = {};
      (state.plans || []).forEach(function (p) { held[p.user_id] = p; });
      view.panelRoot().find('[data-section="plan-editor"] input[data-kind]').each(function () {
        var user = $(this).attr('data-user'), kind = $(this).attr('data-kind'), raw = $.trim($(this).val());
        rows[user] = rows[user] || {month: month, user_id: Number(user), amount: null, count: null};
        rows[user][kind] = raw === '' ? null : Number(raw);
      });
      return Object.keys(rows).map(function (k) { return rows[k]; }).filter(function (row) {
        var before = held[row.user_id] || {amount: null, count: null};
        return Number(before.amount || 0) !== Number(row.amount || 0) ||
          Number(before.count || 0) !== Number(row.count || 0);
      });
    }

    /** One PUT per changed plan (the API writes a plan at a time); the editor reloads when all are stored. */
    function savePlans() {
      var rows = changedPlans(), box = view.panelRoot().find('[data-section="plan-editor"]');
      var status = box.find('.' + CSS + '__status'), btn = box.find('[data-dp-action="save-plans"]');
      if (!rows.length) {
        status.attr('class', el('status', CSS + '__muted')).text(t('panel.plans_unchanged'));
        return;
      }
      btn.prop('disabled', true);
      status.attr('class', el('status', CSS + '__muted')).text(t('common.saving'));
      var calls = rows.map(function (row) { return api('PUT', '/plans', row); });
      $.when.apply($, calls)
        .done(function () {
          btn.prop('disabled', false);
          rows.forEach(function (row) {
            state.plans = (state.plans || []).filter(function (p) { return p.user_id !== row.user_id; });
            if (row.amount !== null || row.count !== null) { state.plans.push(row); }
          });
          status.attr('class', el('status', CSS + '__note')).text(t('common.saved'));
          clearTimeout(state.planRefresh);
          state.planRefresh = setTimeout(function () {  // the progress chart follows once the recompute ran
            api('GET', '/panel').done(function (raw) {
              state.panel = view.normalizePanel(raw);
              view.fillSection('plans', view.plansHtml(state.panel));
            });
          }, 1500);
        })
        .fail(function (xhr) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note ' + CSS + '__note--error')).text(failure(xhr));
        });
    }

    return {loadPlans: loadPlans, savePlans: savePlans};
  };
});
