/* Deal Pulse widget, widget_page: Stats → "Deals that need attention" (one's own; supervisors may see every deal
   their amoCRM rights show them). The list's markup is also the panel's per-manager deal list. */
define(['jquery', './format.js', './style.js'], function ($, format, style) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, num = format.num, pick = format.pick, el = format.el, div = format.div,
      button = format.button;
  var ensureStyle = style.ensureStyle;

  /** The attention page of one widget object; `ctx` is what script.js shares between the parts. */
  return function (ctx) {
    var state = ctx.state, t = ctx.t, freshness = ctx.freshness, api = ctx.api, errorBox = ctx.errorBox,
        loadingBox = ctx.loadingBox, workArea = ctx.workArea;

    function listRoot() {
      return $('#' + CSS + '-list');
    }

    function attentionHtml(data) {
      var lang = state.lang, items = (data && data.items) || [];
      if (!items.length) { return div('empty', esc(t('list.empty'))); }
      return '<ol class="' + el('attention') + '">' + items.map(function (deal) {
        var id = deal.lead_id, link = deal.link || '/leads/detail/' + id, top = deal.top_hint || {};
        var severity = deal.severity || top.severity || 'info';
        var reason = pick(top.text, lang);
        var meta = deal.responsible_name ? [deal.responsible_name] : [];  // whose deal, in the "visible" scope
        if (deal.price) { meta.push(num(deal.price, lang)); }  // no budget is not «0» beside the name
        var more = (deal.hints_count || 0) - 1;
        if (more > 0) { meta.push(t('list.more_hints', {n: num(more, lang)})); }
        return '<li class="' + el('deal') + '" data-lead="' + esc(id) + '">' +
          '<span class="' + el('dot', CSS + '__dot--' + esc(severity)) + '"></span>' +
          '<a class="' + el('deal-link') + '" href="' + esc(safePath(link, id)) + '">' +
          esc(deal.name || t('list.deal_no_name', {id: id})) + '</a>' +
          (reason ? '<div class="' + el('deal-meta', CSS + '__deal-reason') + '" title="' + esc(reason) + '">' +
            esc(reason) + '</div>' : '') +
          (meta.length ? div('deal-meta', esc(meta.join(' · '))) : '') + '</li>';
      }).join('') + '</ol>' + (data.as_of ? div('fresh', esc(freshness(data.as_of))) : '');
    }

    /** Only a relative amoCRM path: an API value never becomes a javascript: or foreign link. */
    function safePath(link, id) {
      return /^\/[a-z0-9_\/-]*$/i.test(String(link)) ? link : '/leads/detail/' + encodeURIComponent(id);
    }

    function loadList(scope) {
      var root = listRoot();
      state.scope = scope === 'visible' ? 'visible' : 'mine';
      $('#' + CSS + '-page [data-dp-scope]').each(function () {
        $(this).toggleClass(CSS + '__button--primary', $(this).attr('data-dp-scope') === state.scope);
      });
      root.html(loadingBox('list.loading'));
      api('GET', '/attention?limit=50&scope=' + state.scope)
        .done(function (data) { root.html(attentionHtml(data || {})); })
        .fail(function (xhr) { root.html(errorBox(xhr, 'reload-list')); });
    }

    /** Stats → "Deals that need attention": one's own for everyone; supervisors may also see every deal their
        amoCRM rights show them. The service applies the rights (leads.view and status_rights) either way. */
    function renderAttentionPage() {
      ensureStyle();
      workArea().html('<div class="' + CSS + ' ' + CSS + '--page" id="' + CSS + '-page">' +
        '<div class="' + el('header') + '"><h1 class="' + el('h1') + '">' + esc(t('list.title')) + '</h1>' +
        '<div class="' + el('scope') + '"></div></div>' +
        '<div class="' + CSS + ' ' + CSS + '--list" id="' + CSS + '-list"></div></div>');
      var page = $('#' + CSS + '-page');
      page.on('click', '[data-dp-action]', function (event) {
        event.preventDefault();
        var action = $(this).attr('data-dp-action');
        if (action === 'reload-list') { loadList(state.scope); }
        if (action === 'scope') { loadList($(this).attr('data-dp-scope')); }
      });
      api('GET', '/me').done(function (me) {
        if (me && me.is_supervisor) {
          page.find('.' + CSS + '__scope').html(
            button('scope', t('list.scope_mine'), state.scope === 'mine' ? 'primary' : '', ' data-dp-scope="mine"') +
            ' ' + button('scope', t('list.scope_visible'), state.scope === 'visible' ? 'primary' : '',
                         ' data-dp-scope="visible"'));
        }
      });
      loadList('mine');
    }

    return {render: renderAttentionPage, html: attentionHtml};
  };
});
