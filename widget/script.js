/* Deal Pulse widget for amoCRM (where each part appears: README "Publishing the widget").
   - lcard-1: the deal's hints (reason, numbers, action, one-click task, snooze, dismiss), freshness, my plan.
   - widget_page, as two subsections of amoCRM's Stats section (left menu, initMenuPage): "deals that need
     attention" for every user (any visible deal for supervisors) and the supervisor panel (inline SVG charts).
   - advanced_settings: what only admins do there: plans, thresholds, supervisors.
   This file is the AMD module amoCRM loads (developers.kommo.com/docs/script-js: define(['jquery'], ...) returning
   the widget's constructor); it holds the widget object, its callbacks and the wiring of the parts below. It talks to
   our API only through self.$authorizedAjax. Every text shown comes from i18n/<lang>.json or, for hints and insights,
   from the API in both languages; all of it is escaped.

   How the parts load: as relative ids of this define(), './<name>.js'. amoCRM loads script.js with its RequireJS from
   the widget's own folder (self.params.path, FACTS §3); RequireJS resolves an id starting with './' against the id of
   the module that names it, that is against script.js's own URL, so './card.js' is <params.path>/card.js, a file of the
   uploaded widget.zip (developers.kommo.com/docs/structure-widget: the archive's JS files are loaded into the browser).
   Production widgets load their own files this way: Vahagn-99/google-clanedar-amo-sync (Widget/script.js,
   define(['./app.js?cache=...'])) and iamkuper/amocrm-vue-widget (its README: dist/script.js names './app.js'). Others
   require [self.params.path + '/x.js'] or [self.get_settings().path + '/x.js'] inside a callback: the same URL
   but only after render has returned; relative ids give the callbacks every part from the start. The ids keep their
   '.js': RequireJS takes such an id as a path and adds nothing to it. The build (service/ops/widget_package.py) adds
   '?v=<manifest version>' to each, so a browser never mixes a new script.js with cached modules of the last upload
   (the widget above adds a query for the same reason). The docs say no more than this; the preview (service/preview)
   loads the same files the same way, resolving the ids against the URL script.js was loaded from. */
define(['jquery', './format.js', './texts.js', './api.js', './style.js', './card.js', './attention.js', './panel.js',
        './speed.js', './plan_editor.js', './settings_form.js', './panel_filters.js', './manager_report.js'],
function ($, format, texts, api, style, card, attention, panel, speed, planEditor, settingsForm, panelFilters,
          managerReport) {
  'use strict';

  // Replaced by `make widget` (and the harness) with the service's public URL.
  var API_BASE = '__DEAL_PULSE_API__';
  var MENU_ATTENTION = 'deal_pulse_attention', MENU_PANEL = 'deal_pulse_panel';  // manifest.json left_menu.stats

  return function () {
    var self = this;
    var state = {lang: format.language(), card: null, panel: null, lastRead: 0, scope: 'mine'};

    /** Where amoCRM draws the widget's own pages (left-menu page and advanced_settings): #work-area-<code>. */
    function workArea() {
      var code = (self.get_settings && self.get_settings().widget_code) || 'deal_pulse';
      var area = $('#work-area-' + code);
      return area.length ? area : $('#work_area');
    }

    // What every part shares: amoCRM's widget object, the state, the texts, the API and the page's work area.
    var words = texts(self, state), calls = api(self, API_BASE, words.t);
    var ctx = $.extend({self: self, state: state, workArea: workArea}, words, calls, {api: calls.call});
    var theCard = card(ctx), list = attention(ctx);
    // The panel's parts call each other through `view`; every part is in it before any page is drawn.
    var view = {attentionHtml: list.html};
    [panel, speed, planEditor, settingsForm, panelFilters, managerReport].forEach(function (part) {
      $.extend(view, part(ctx, view));
    });

    this.callbacks = {
      render: function () {
        state.lang = format.language();
        // A new deal's card (current_card.id 0) gets no block: there is nothing to read until it is saved.
        if (self.system().area === 'lcard' && theCard.currentLeadId()) {
          style.ensureStyle();
          theCard.render();
        }
        return true;
      },
      // amoCRM calls init after render and bind_actions on entering a card: the documented moment to read it.
      init: function () {
        if (self.system().area === 'lcard') { theCard.readIfStale(); }
        return true;
      },
      bind_actions: function () { return true; },
      settings: function () { return true; },
      onSave: function () { return true; },
      // The left-menu page (amocrm.ru/developers/content/web_sdk/left_menu): {location, item_code, subitem_code}.
      initMenuPage: function (params) {
        state.lang = format.language();
        var sub = params && params.subitem_code;
        if (sub === MENU_PANEL) {
          view.render('team');
        } else if (sub === MENU_ATTENTION || !sub) {
          list.render();
        }
      },
      advancedSettings: function () {
        state.lang = format.language();
        view.render('admin');
        return true;
      },
      destroy: function () {
        clearTimeout(state.syncTimer);
        clearTimeout(state.planRefresh);
        clearInterval(state.freshTimer);
        theCard.stopPolling();
        theCard.root().off().remove();
        $('#' + format.CSS + '-page').off().remove();
        view.panelRoot().off().remove();
      }
    };
    return this;
  };
});
