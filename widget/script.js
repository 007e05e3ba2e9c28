/* Deal Pulse widget for amoCRM: hints in the deal card's right-hand panel.
   An AMD module, as amoCRM loads widgets; it talks to our API only through self.$authorizedAjax. */
define(['jquery'], function ($) {
  'use strict';

  // Replaced by `make widget` (and the harness) with the service's public URL.
  var API_BASE = '__DEAL_PULSE_API__';
  var CSS = 'deal-pulse';
  var SEVERITY_ORDER = {critical: 0, warning: 1, info: 2};

  function escapeHtml(text) {
    return String(text === undefined || text === null ? '' : text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function language() {
    var lang = (window.APP && APP.lang_id) || 'ru';
    return lang === 'ru' ? 'ru' : 'en';
  }

  function ago(seconds, t) {
    if (seconds < 60) { return t.just_now; }
    if (seconds < 3600) { return t.minutes_ago.replace('{n}', Math.round(seconds / 60)); }
    return t.hours_ago.replace('{n}', Math.round(seconds / 3600));
  }

  function hintHtml(hint, lang) {
    return '<li class="' + CSS + '__hint ' + CSS + '__hint--' + escapeHtml(hint.severity) + '" data-code="' +
      escapeHtml(hint.code) + '">' +
      '<div class="' + CSS + '__text">' + escapeHtml(hint.text[lang]) + '</div>' +
      '<div class="' + CSS + '__action">' + escapeHtml(hint.action[lang]) + '</div></li>';
  }

  function cardHtml(card, t, lang) {
    var hints = (card.hints || []).slice().sort(function (a, b) {
      return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
    });
    if (!hints.length) {
      return '<div class="' + CSS + '__empty">' + escapeHtml(card.as_of ? t.all_good : t.no_data) + '</div>';
    }
    var fresh = card.as_of ? '<div class="' + CSS + '__fresh">' + escapeHtml(t.updated) + ' ' +
      escapeHtml(ago(Date.now() / 1000 - card.as_of, t)) + '</div>' : '';
    return '<ul class="' + CSS + '__hints">' + hints.map(function (h) { return hintHtml(h, lang); }).join('') +
      '</ul>' + fresh;
  }

  var STYLE = '.' + CSS + '{font-size:13px;line-height:1.4;color:#2e3640}' +
    '.' + CSS + '__hints{list-style:none;margin:0;padding:0}' +
    '.' + CSS + '__hint{border-left:4px solid #8591a5;padding:6px 8px;margin:0 0 8px;background:#f5f7fa;border-radius:2px}' +
    '.' + CSS + '__hint--critical{border-color:#e0443a;background:#fdf0ef}' +
    '.' + CSS + '__hint--warning{border-color:#f0a020;background:#fdf7ea}' +
    '.' + CSS + '__action{font-weight:600;margin-top:4px}' +
    '.' + CSS + '__fresh,.' + CSS + '__empty,.' + CSS + '__loading{color:#6b7685;font-size:12px}' +
    '.' + CSS + '__error{color:#e0443a}';

  return function () {
    var self = this;

    function t() {
      return self.i18n('card') || {};
    }

    function panel() {
      return $('#' + CSS + '-card');
    }

    function loadHints() {
      var card = window.APP && APP.data && APP.data.current_card;
      if (!card || !card.id) { return; }
      var strings = t();
      panel().html('<div class="' + CSS + '__loading">' + escapeHtml(strings.loading) + '</div>');
      self.$authorizedAjax({url: API_BASE + '/api/v1/leads/' + encodeURIComponent(card.id) + '/hints',
                            dataType: 'json'})
        .done(function (data) { panel().html(cardHtml(data, strings, language())); })
        .fail(function () {
          panel().html('<div class="' + CSS + '__error">' + escapeHtml(strings.error) + '</div>');
        });
    }

    this.callbacks = {
      render: function () {
        var area = self.system().area;
        if (area === 'lcard') {
          if (!$('#' + CSS + '-style').length) {
            $('head').append('<style id="' + CSS + '-style">' + STYLE + '</style>');
          }
          self.render_template({
            caption: {class_name: CSS + '__caption', html: escapeHtml(t().title || 'Deal Pulse')},
            body: '',
            render: '<div class="' + CSS + '" id="' + CSS + '-card"></div>'
          });
          loadHints();
        }
        return true;
      },
      init: function () { return true; },
      bind_actions: function () { return true; },
      settings: function () { return true; },
      onSave: function () { return true; },
      destroy: function () { panel().remove(); }
    };
    return this;
  };
});
