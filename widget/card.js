/* Deal Pulse widget, lcard-1: the deal's hints in the right-hand widget panel of a deal card (reason, numbers,
   action, one-click task, snooze, dismiss), its freshness, my plan; the open card polled while its page is visible. */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS, DAY = format.DAY, esc = format.esc, num = format.num, pct = format.pct, pick = format.pick,
      el = format.el, div = format.div, button = format.button;

  var SEVERITY_ORDER = {critical: 0, warning: 1, info: 2};
  var ONE_CLICK_TASK = {no_open_task: true, overdue_task: true};
  // An open card is read again at most this often while its page is visible, never while hidden; at once after
  // the widget's own actions. amoCRM documents no push channel for widgets (FACTS §3).
  var CARD_POLL_MS = 30000;
  var SNOOZE_DAYS = {'1d': 1, '3d': 3, '1w': 7};

  /** The card of one widget object; `ctx` is what script.js shares between the parts (texts, API, state). */
  return function (ctx) {
    var self = ctx.self, state = ctx.state, t = ctx.t, plural = ctx.plural, freshness = ctx.freshness,
        minutesText = ctx.minutesText, api = ctx.api, failure = ctx.failure, errorBox = ctx.errorBox,
        loadingBox = ctx.loadingBox;

    function cardRoot() {
      return $('#' + CSS + '-card');
    }

    /** The open deal's id; null outside a card and on a new deal's card (id 0: nothing to read yet). */
    function currentLeadId() {
      var card = window.APP && APP.data && APP.data.current_card;
      return card && Number(card.id) > 0 ? card.id : null;
    }

    function rank(severity) {
      return SEVERITY_ORDER.hasOwnProperty(severity) ? SEVERITY_ORDER[severity] : 3;
    }

    function sortHints(hints) {
      return (hints || []).slice().sort(function (a, b) {  // a client waiting for a first answer comes first
        var urgent = (b.code === 'first_contact_overdue') - (a.code === 'first_contact_overdue');
        return urgent || rank(a.severity) - rank(b.severity);
      });
    }

    /** Days, or hours as the hint's text words them: from 48 hours as shown, days (texts.overdue_ru), so the head
        never reads «116 часов» over «просрочена на 5 дней». */
    function spanText(value, unit, units) {
      if (unit === 'hours' && Math.round(value) >= 48) { return plural(Math.round(value / 24), units.days); }
      return plural(unit === 'hours' ? Math.round(value) : value, units[unit]);
    }

    function hintNumbers(hint) {
      var lang = state.lang, th = hint.threshold;
      var units = {days: ['common.days_one', 'common.days_few', 'common.days_many'],
                   hours: ['common.hours_one', 'common.hours_few', 'common.hours_many']};
      if (hint.unit === 'minutes') {  // first contact: minutes, hours past 90 minutes
        return th && th.value ? t('card.numbers_limit', {value: minutesText(hint.value), limit: minutesText(th.value)})
          : minutesText(hint.value);
      }
      if (units[hint.unit]) {  // the limit in its unit too: «порог 7» alone left the reader guessing
        return th && th.value ? t('card.numbers_limit', {value: spanText(hint.value, hint.unit, units),
          limit: spanText(th.value, hint.unit, units)}) : spanText(hint.value, hint.unit, units);
      }
      if (hint.unit === '%') {
        return num(Math.round(hint.value), lang, 0) + '%';
      }
      return '';
    }

    function severityLabel(severity) {
      var labels = {critical: t('card.severity_critical'), warning: t('card.severity_warning'),
                    info: t('card.severity_info')};
      return labels[severity] || severity;
    }

    function hintHtml(hint) {
      var lang = state.lang, code = hint.code;
      var offered = ONE_CLICK_TASK[code];
      var buttons = (offered ? button('task', t('card.create_task'), 'primary') : '') +
        button('snooze-menu', t('card.snooze')) + button('dismiss-menu', t('card.dismiss'));
      return '<li class="' + el('hint', CSS + '__hint--' + esc(hint.severity)) + '" data-code="' + esc(code) + '">' +
        div('hint-head', '<span class="' + el('badge') + '">' + esc(severityLabel(hint.severity)) + '</span>' +
          '<span class="' + el('numbers') + '">' + esc(hintNumbers(hint)) + '</span>') +
        div('text', esc(pick(hint.text, lang))) + reasonsHtml(hint) +
        (hint.action ? div('action', esc('→ ' + pick(hint.action, lang))) : '') +
        div('buttons', buttons) + '<div class="' + el('slot') + '"></div></li>';
    }

    /** The other reasons of a card that merged several rules on one cause (the card's own text is the first). */
    function reasonsHtml(hint) {
      var others = (hint.reasons || []).slice(1);
      if (!others.length) { return ''; }
      return '<ul class="' + el('reasons') + '">' + others.map(function (r) {
        return '<li data-code="' + esc(r.code) + '">' + esc(pick(r.text, state.lang)) + '</li>';
      }).join('') + '</ul>';
    }

    function planLine(me) {
      var lang = state.lang, plan = me && me.plan;
      if (!plan || !(plan.plan_amount || plan.plan_count)) {
        return div('plan', '<span class="' + el('muted') + '">' + esc(t('card.plan_none')) + '</span>');
      }
      var byAmount = !!plan.plan_amount;
      var fact = byAmount ? plan.fact_amount : plan.fact_count, target = byAmount ? plan.plan_amount : plan.plan_count;
      var share = target ? Math.min(1, fact / target) : 0;
      var projected = me.projected_amount !== undefined ? me.projected_amount : plan.projected_amount;
      var behind = byAmount && projected < target;
      var text = t('card.plan_line', {fact: num(fact, lang), plan: num(target, lang), share: pct(fact / target, lang),
                                      chance: format.chance(me.p_plan_met, lang)});
      return div('plan', esc(text) + '<div class="' + el('plan-bar', behind ? CSS + '__plan-bar--behind' : '') +
        '"><span style="width:' + (share * 100).toFixed(1) + '%"></span></div>', ' title="' +
        esc(pick(firstText(me.texts, 'plan'), lang)) + '"');
    }

    function firstText(texts, code) {
      var found = (texts || []).filter(function (x) { return x.code === code; })[0];
      return found ? found.text : null;
    }

    function renderCard() {
      var root = cardRoot(), card = state.card;
      if (!root.length || !card) { return; }
      var hints = sortHints(card.hints), body;
      if (!hints.length) {
        body = div('empty', esc(card.as_of ? t('card.all_good') : t('card.no_data')));
      } else {
        body = '<ul class="' + el('hints') + '">' + hints.map(hintHtml).join('') + '</ul>';
      }
      var notice = state.notice && state.notice.until > Date.now() ? div('notice', esc(state.notice.text)) : '';
      root.find('.' + CSS + '__card-body').html(notice + body +
        (card.as_of ? div('fresh', esc(freshness(card.as_of))) : ''));
    }

    function loadCard(quiet) {
      var leadId = currentLeadId(), root = cardRoot();
      if (!leadId || !root.length) { return; }
      if (!quiet) { root.find('.' + CSS + '__card-body').html(loadingBox('card.loading')); }
      state.lastRead = Date.now();
      api('GET', '/leads/' + encodeURIComponent(leadId) + '/hints')
        .done(function (data) {
          state.card = data || {hints: []};
          renderCard();
        })
        .fail(function (xhr) {
          root.find('.' + CSS + '__card-body').html(errorBox(xhr, 'reload-card'));
        });
    }

    function loadMyPlan() {
      var root = cardRoot();
      api('GET', '/managers/me')
        .done(function (me) { root.find('.' + CSS + '__plan-slot').html(planLine((me && me.summary) || me)); })
        .fail(function () { root.find('.' + CSS + '__plan-slot').empty(); });  // the hints matter more
    }

    /** Poll the open card while its page is visible: one read per CARD_POLL_MS at most, none while hidden (Page
        Visibility API); coming back to a page whose card is older than that reads it at once. */
    function startCardPolling() {
      stopCardPolling();
      state.pollTimer = setInterval(readCardIfDue, CARD_POLL_MS);
      state.onVisible = function () { if (!document.hidden) { readCardIfDue(); } };
      document.addEventListener('visibilitychange', state.onVisible);
    }

    function readCardIfDue() {
      if (!document.hidden && currentLeadId() && Date.now() - (state.lastRead || 0) >= CARD_POLL_MS) {
        loadCard(true);
      }
    }

    function stopCardPolling() {
      clearInterval(state.pollTimer);
      if (state.onVisible) { document.removeEventListener('visibilitychange', state.onVisible); }
      state.pollTimer = state.onVisible = null;
    }

    function hintOf(target) {
      var item = $(target).closest('.' + CSS + '__hint');
      return {item: item, code: item.attr('data-code'), slot: item.find('.' + CSS + '__slot')};
    }

    function removeHint(code, notice) {
      state.card.hints = (state.card.hints || []).filter(function (h) { return h.code !== code; });
      state.notice = {text: notice, until: Date.now() + 10000};
      renderCard();
      loadCard(true);  // our own action: the stored card, at once
    }

    function sendFeedback(target, body, notice) {
      var hint = hintOf(target), leadId = currentLeadId();
      hint.item.find('button').prop('disabled', true);
      api('POST', '/leads/' + encodeURIComponent(leadId) + '/hints/' + encodeURIComponent(hint.code) + '/feedback',
          body)
        .done(function () { removeHint(hint.code, notice); })
        .fail(function (xhr) {
          hint.item.find('button').prop('disabled', false);
          hint.slot.html('<div class="' + el('note', CSS + '__note--error') + '">' +
            esc(t('card.feedback_failed') + ' ' + failure(xhr)) + '</div>');
        });
    }

    var cardActions = {
      'reload-card': function () { loadCard(false); },
      'snooze-menu': function (target) {
        var hint = hintOf(target);
        hint.slot.html('<div class="' + el('choices') + '">' + esc(t('card.snooze_for')) + ' ' +
          button('snooze', t('card.snooze_1d'), '', ' data-period="1d"') +
          button('snooze', t('card.snooze_3d'), '', ' data-period="3d"') +
          button('snooze', t('card.snooze_1w'), '', ' data-period="1w"') + '</div>');
      },
      'snooze': function (target) {
        var days = SNOOZE_DAYS[$(target).attr('data-period')] || 1;
        var until = Math.round(Date.now() / 1000) + days * DAY;
        var period = plural(days, ['common.days_one', 'common.days_few', 'common.days_many']);
        sendFeedback(target, {action: 'snooze', until: until, reason: 'later'}, t('card.snoozed', {period: period}));
      },
      'dismiss-menu': function (target) {
        var hint = hintOf(target);
        hint.slot.html('<div class="' + el('choices') + '">' + esc(t('card.dismiss_why')) + ' ' +
          button('dismiss', t('card.reason_done'), '', ' data-reason="already_done"') +
          button('dismiss', t('card.reason_not_relevant'), '', ' data-reason="not_relevant"') +
          button('dismiss', t('card.reason_wrong'), '', ' data-reason="wrong_data"') + '</div>');
      },
      'dismiss': function (target) {
        sendFeedback(target, {action: 'dismiss', reason: $(target).attr('data-reason')}, t('card.dismissed'));
      },
      'task': function (target) {
        var hint = hintOf(target), leadId = currentLeadId();
        $(target).prop('disabled', true).text(t('card.task_creating'));
        api('POST', '/leads/' + encodeURIComponent(leadId) + '/tasks', {lang: state.lang, text: t('card.task_text')})
          .done(function (answer) {
            state.notice = {text: t('card.task_created_note', {text: t('card.task_text')}), until: Date.now() + 10000};
            if (answer && answer.card) {  // the card recomputed with the new task: the hint is gone
              state.card = answer.card;
              state.lastRead = Date.now();
              renderCard();
            } else {
              $(target).text(t('card.task_created'));
              loadCard(true);  // our own action: the stored card, at once
            }
          })
          .fail(function (xhr) {
            var why = {409: t('card.task_conflict'), 502: t('card.task_amocrm_failed'),
                       503: t('card.task_amocrm_failed')}[xhr && xhr.status] || failure(xhr);
            $(target).prop('disabled', false).text(t('card.create_task'));
            hint.slot.html('<div class="' + el('note', CSS + '__note--error') + '">' +
              esc(t('card.task_failed') + ' ' + why) + '</div>');
          });
      }
    };

    function renderCardArea() {
      var leadId = currentLeadId();
      self.render_template({
        caption: {class_name: el('caption'), html: esc(t('card.title'))},
        body: '',
        render: '<div class="' + CSS + ' ' + CSS + '--card" id="' + CSS + '-card">' +
          '<div class="' + el('plan-slot') + '"></div><div class="' + el('card-body') + '"></div></div>'
      });
      var root = cardRoot();
      root.on('click', '[data-dp-action]', function (event) {
        var handler = cardActions[$(this).attr('data-dp-action')];
        if (handler) { event.preventDefault(); handler(this); }
      });
      if (leadId) {
        loadCard(false);
        loadMyPlan();
        startCardPolling();
        clearInterval(state.freshTimer);
        state.freshTimer = setInterval(function () {
          if (state.card && state.card.as_of) { root.find('.' + CSS + '__fresh').text(freshness(state.card.as_of)); }
        }, 30000);
      }
    }

    /** amoCRM calls init after render and bind_actions on entering a card: read it unless a read is fresh. */
    function readIfStale() {
      if (currentLeadId() && cardRoot().length && Date.now() - (state.lastRead || 0) >= CARD_POLL_MS) {
        loadCard(true);
      }
    }

    return {render: renderCardArea, readIfStale: readIfStale, root: cardRoot, currentLeadId: currentLeadId,
            stopPolling: stopCardPolling};
  };
});
