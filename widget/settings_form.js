/* Deal Pulse widget, the admins' page (advanced_settings): the settings form: stage limits, no-activity days, the
   first-contact limit and working hours, the close-date field, supervisors. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, shown = format.shown, el = format.el, div = format.div,
      button = format.button;

  /** The settings form: `ctx` is what script.js shares; `view` holds every part of the panel (script.js
      fills it before anything is drawn). */
  return function (ctx, view) {
    var state = ctx.state, t = ctx.t, api = ctx.api, failure = ctx.failure, errorBox = ctx.errorBox,
        loadingBox = ctx.loadingBox;

    function settingsHtml(settings) {
      var panel = state.panel || {};
      var stages = settings.stages || (panel.time_in_stage || []).map(function (r) {
        return {status_id: r.status_id, name: r.name};
      });
      var overrides = settings.stage_overrides || {};
      var users = settings.users || view.workloadRows(panel).map(function (r) {
        return {id: r.user_id, name: r.name};
      });
      var supervisors = {};
      (settings.supervisor_ids || []).forEach(function (id) { supervisors[id] = true; });
      var fields = settings.date_fields || [];
      var closeField = settings.close_date_field_id;
      var mayChoose = settings.may_choose_supervisors !== false;
      function auto() {  // an empty field: the limit is learned from the stage's history (P80 / P95)
        return t('panel.settings_auto');
      }
      var known = fields.some(function (f) { return String(f.id) === String(closeField); });
      var kinds = {date_time: 'panel.settings_type_date_time', birthday: 'panel.settings_type_birthday'};
      var fieldControl = fields.length ? '<select class="' + el('input', CSS + '__input--field') +
        '" name="close_date_field">' +
        '<option value="">' +
        esc(t('panel.settings_none')) + '</option>' + fields.map(function (f) {
          var kind = kinds[f.type] ? ' (' + t(kinds[f.type]) + ')' : '';  // a plain date needs no note
          return '<option value="' + esc(f.id) + '"' + (String(f.id) === String(closeField) ? ' selected' : '') + '>' +
            esc(f.name + kind) + '</option>';
        }).join('') + (closeField && !known ?  // chosen by id before the fields were synced, or deleted since
          '<option value="' + esc(closeField) + '" selected>' +
          esc(t('panel.settings_field_unknown', {id: closeField})) + '</option>' : '') + '</select>' :
        '<input class="' + el('input') + '" name="close_date_field" type="number" min="0" value="' +
        esc(closeField || '') + '" placeholder="' + esc(t('panel.settings_field_id')) + '">';
      return '<form class="' + el('settings-form') + '" onsubmit="return false">' +
        '<div class="' + el('form-row') + '"><label>' + esc(t('panel.settings_no_activity')) + '</label>' +
        '<input class="' +
        el('input', CSS + '__input--short') + '" name="no_activity_days" type="number" min="1" step="1" value="' +
        esc(settings.no_activity_days === undefined ? 7 : settings.no_activity_days) + '"></div>' +
        firstContactRows(settings) +
        '<div class="' + el('form-row') + '"><label>' + esc(t('panel.settings_close_field')) + '</label>' +
        fieldControl +
        '</div><h3 class="' + el('h2') + '">' + esc(t('panel.settings_stages')) + '</h3>' +
        (stages.length ? '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.settings_stage')) + '</th><th>' +
          esc(t('panel.settings_warn')) + '</th><th>' + esc(t('panel.settings_crit')) + '</th></tr>' +
          stages.map(function (s, i) {
            var o = overrides[s.status_id] || overrides[String(s.status_id)] || {};
            return pipelineRow(stages, i) + '<tr data-stage="' + esc(s.status_id) + '"><td>' + esc(s.name) +
              '</td><td>' +
              '<input class="' + el('input', CSS + '__input--short') +
              '" type="number" min="0" step="0.5" data-stage="' + esc(s.status_id) + '" data-kind="warn_days" value="' +
              esc(o.warn_days === undefined || o.warn_days === null ? '' : o.warn_days) + '" placeholder="' +
              esc(auto()) + '"></td><td><input class="' + el('input', CSS + '__input--short') +
              '" type="number" min="0" step="0.5" data-stage="' + esc(s.status_id) + '" data-kind="crit_days" value="' +
              esc(o.crit_days === undefined || o.crit_days === null ? '' : o.crit_days) + '" placeholder="' +
              esc(auto()) + '"></td></tr>';
          }).join('') + '</table>' : div('empty', esc(t('panel.empty')))) +
        '<h3 class="' + el('h2') + '">' + esc(t('panel.settings_supervisors')) + '</h3>' +
        div('legend', esc(t(mayChoose ? 'panel.settings_supervisors_note' : 'panel.settings_supervisors_admins'))) +
        '<div class="' + el('checks') + '">' +
        users.map(function (u) {
          var id = u.id;
          if (u.is_admin) {  // admins are supervisors anyway: shown ticked, not sent
            return '<label><input type="checkbox" checked disabled> ' + esc(u.name || view.userName(id)) + ' (' +
              esc(t('panel.settings_admin')) + ')</label>';
          }
          // Only an account admin may choose supervisors (the API answers 403 otherwise): others see them read-only.
          return '<label><input type="checkbox" name="supervisor" value="' + esc(id) + '"' +
            (supervisors[id] ? ' checked' : '') + (mayChoose ? '' : ' disabled') + '> ' +
            esc(u.name || view.userName(id)) + '</label>';
        }).join('') + '</div><div class="' + el('actions') + '">' +
        button('save-settings', t('common.save'), 'primary') +
        '<span class="' + el('status') + '"></span></div></form>';
    }

    /** A pipeline's name above its first stage when the account has several: three «Неразобранное» in
        one list said nothing of which pipeline each was. */
    function pipelineRow(stages, i) {
      var s = stages[i], many = stages.some(function (x) { return x.pipeline_id !== stages[0].pipeline_id; });
      if (!many || !s.pipeline_name || (i && stages[i - 1].pipeline_id === s.pipeline_id)) { return ''; }
      return '<tr class="' + el('pipeline-row') + '" data-pipeline="' + esc(s.pipeline_id) + '"><th colspan="3">' +
        esc(t('panel.settings_pipeline', {name: s.pipeline_name})) + '</th></tr>';
    }

    /** The first-contact limit and the working hours (issue 21): a day checkbox row and a from-to window. */
    function firstContactRows(settings) {
      var hours = settings.working_hours, clock = hours === null;
      var shown = hours || (settings.defaults || {}).working_hours || {days: [1, 2, 3, 4, 5], start: '09:00',
        end: '18:00'};
      var days = {};
      (shown.days || []).forEach(function (d) { days[d] = true; });
      var minutes = settings.first_contact_minutes === undefined ? 15 : settings.first_contact_minutes;
      return '<div class="' + el('form-row') + '"><label>' + esc(t('speed.settings_minutes')) + '</label>' +
        '<input class="' + el('input', CSS + '__input--short') + '" name="first_contact_minutes" type="number" ' +
        'min="1" max="1440" step="1" value="' + esc(minutes) + '"></div>' +
        '<div class="' + el('form-row') + '"><label>' + esc(t('speed.settings_hours')) + '</label>' +
        '<label class="' + el('day') + '"><input type="checkbox" name="around_the_clock"' + (clock ? ' checked' : '') +
        '> ' + esc(t('speed.settings_clock')) + '</label></div><div class="' + el('form-row') + '">' +
        [1, 2, 3, 4, 5, 6, 7].map(function (d) {
          return '<label class="' + el('day') + '"><input type="checkbox" name="work_day" value="' + d + '"' +
            (days[d] ? ' checked' : '') + '> ' + esc(t('speed.day_' + d)) + '</label>';
        }).join('') + '</div><div class="' + el('form-row') + '">' + timeInput('work_start', shown.start) + ' – ' +
        timeInput('work_end', shown.end) + '</div>';
    }

    function timeInput(name, value) {  // text, not type=time: that one shows 18:00 as "06:00 PM" in some locales
      return '<input class="' + el('input', CSS + '__input--short') + '" name="' + name + '" type="text" ' +
        'inputmode="numeric" maxlength="5" pattern="[0-2][0-9]:[0-5][0-9]" placeholder="09:00" value="' +
        esc(value) + '">';
    }

    function collectFirstContact(form) {
      var days = form.find('input[name="work_day"]:checked').map(function () { return Number($(this).val()); }).get();
      return {first_contact_minutes: Number(form.find('[name="first_contact_minutes"]').val()) || 15,
              working_hours: form.find('[name="around_the_clock"]').is(':checked') ? null :
                {days: days, start: form.find('[name="work_start"]').val(), end: form.find('[name="work_end"]').val()}};
    }

    function collectSettings() {
      var form = view.panelRoot().find('.' + CSS + '__settings-form'), overrides = {};
      form.find('input[data-stage]').each(function () {
        var raw = $.trim($(this).val());
        if (raw === '') { return; }
        var stage = $(this).attr('data-stage');
        overrides[stage] = overrides[stage] || {};
        overrides[stage][$(this).attr('data-kind')] = Number(raw);
      });
      Object.keys(overrides).forEach(function (k) {  // a critical limit alone means nothing: warn is required
        if (overrides[k].warn_days === undefined) { delete overrides[k]; }
      });
      var field = $.trim(form.find('[name="close_date_field"]').val() || '');
      var changes = $.extend(collectFirstContact(form), {
        no_activity_days: Number(form.find('[name="no_activity_days"]').val()) || 7,
        close_date_field_id: field === '' ? null : Number(field),
        stage_overrides: overrides});
      if (form.find('input[name="supervisor"]:enabled').length) {  // read-only for non-admins: not sent
        changes.supervisor_ids = form.find('input[name="supervisor"]:checked').map(function () {
          return Number($(this).val());
        }).get();
      }
      return changes;
    }

    function loadSettings() {
      view.fillSection('settings', loadingBox('common.loading'));
      api('GET', '/settings')
        .done(function (data) { view.fillSection('settings', settingsHtml(data || {})); })
        .fail(function (xhr) { view.fillSection('settings', errorBox(xhr, 'reload-settings')); });
    }

    function saveButton(name, method, path, body, onDone) {
      var box = view.panelRoot().find('[data-section="' + name + '"]');
      var status = box.find('.' + CSS + '__status'), btn = box.find('[data-dp-action^="save-"]');
      btn.prop('disabled', true);
      status.attr('class', el('status', CSS + '__muted')).text(t('common.saving'));
      api(method, path, body)
        .done(function (data) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note')).text(t('common.saved'));
          if (onDone) { onDone(data); }
        })
        .fail(function (xhr) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note ' + CSS + '__note--error')).text(failure(xhr));
        });
    }

    return {settingsHtml: settingsHtml, collectSettings: collectSettings, loadSettings: loadSettings,
            saveButton: saveButton};
  };
});
