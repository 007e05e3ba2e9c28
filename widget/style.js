/* Deal Pulse widget: its stylesheet, added once to amoCRM's page. Every class is under .deal-pulse so nothing leaks
   into amoCRM's own styles (FACTS §3). */
define(['jquery', './format.js'], function ($, format) {
  'use strict';

  var CSS = format.CSS;

  var C = '.' + CSS;
  var STYLE = [
    C + '{font-size:13px;line-height:1.4;color:#2e3640;font-family:inherit}',
    C + ' *{box-sizing:border-box}',
    C + '__muted,' + C + '__fresh,' + C + '__loading,' + C + '__empty{color:#6b7685;font-size:12px}',
    C + '__fresh{margin-top:6px}',
    C + '__loading:before{content:"";display:inline-block;width:10px;height:10px;margin-right:6px;' +
      'border:2px solid #c5ccd6;' +
      'border-top-color:#4c8bf5;border-radius:50%;animation:deal-pulse-spin 0.8s linear infinite;vertical-align:-1px}',
    '@keyframes deal-pulse-spin{to{transform:rotate(360deg)}}',
    C + '__error{color:#c0392b;background:#fdf0ef;border-radius:3px;padding:6px 8px}',
    C + '__error ' + C + '__button{margin-top:6px}',
    C + '__places-slot > ' + C + '__error{margin-bottom:16px}',
    C + '__plan{font-size:12px;margin:0 0 8px;padding:6px 8px;background:#f0f4fb;border-radius:3px}',
    C + '__plan-bar{height:4px;background:#dfe5ee;border-radius:2px;margin-top:4px;overflow:hidden}',
    C + '__plan-bar span{display:block;height:100%;background:#3aa76d}',
    C + '__plan-bar--behind span{background:#f0a020}',
    C + '__hints{list-style:none;margin:0;padding:0}',
    C + '__hint{border-left:4px solid #8591a5;padding:6px 8px;margin:0 0 8px;background:#f5f7fa;border-radius:2px}',
    C + '__hint--critical{border-color:#e0443a;background:#fdf0ef}',
    C + '__hint--warning{border-color:#f0a020;background:#fdf7ea}',
    C + '__hint-head{display:flex;justify-content:space-between;gap:6px;font-size:11px;color:#6b7685;' +
      'margin-bottom:2px}',
    C + '__badge{font-weight:700;text-transform:uppercase;letter-spacing:0.02em}',
    C + '__hint--critical ' + C + '__badge{color:#c0392b}',
    C + '__hint--warning ' + C + '__badge{color:#b36b00}',
    C + '__numbers{white-space:nowrap}',
    C + '__text{word-wrap:break-word}',
    C + '__action{font-weight:600;margin-top:4px}',
    C + '__reasons{margin:4px 0 0;padding-left:16px}',
    C + '__filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-end;margin:0 0 12px}',
    C + '__filter{display:flex;flex-direction:column;gap:2px;font-size:12px;color:#6b7685}',
    C + '__report th{font-size:12px;white-space:normal}',
    C + '__report{display:block;overflow-x:auto}',  // nine columns: scroll inside the section, never past it
    C + '__filter-days{display:flex;align-items:center;gap:4px}',
    C + '__filter-days ' + C + '__input{width:auto}',
    C + '__buttons{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px}',
    C + '__button{font:inherit;font-size:12px;padding:2px 8px;border:1px solid #c5ccd6;border-radius:3px;' +
      'background:#fff;' +
      'color:#2e3640;cursor:pointer;line-height:18px}',
    C + '__button:hover{border-color:#8591a5}',
    C + '__button[disabled]{opacity:0.6;cursor:default}',
    C + '__button--primary{background:#4c8bf5;border-color:#4c8bf5;color:#fff}',
    C + '__button--primary:hover{background:#3a78e0}',
    C + '__choices{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px;align-items:center;font-size:12px}',
    C + '__note{font-size:12px;margin-top:6px;color:#2f7d4f}',
    C + '__note--error{color:#c0392b}',
    C + '__notice{font-size:12px;color:#2f7d4f;margin:0 0 8px}',
    C + '__attention{list-style:none;margin:0;padding:0;counter-reset:dp}',
    C + '__deal{padding:6px 0 6px 22px;border-bottom:1px solid #eef1f5;position:relative;counter-increment:dp}',
    C + '__deal:before{content:counter(dp);position:absolute;left:0;top:6px;width:16px;font-size:11px;' +
      'color:#8591a5;text-align:right}',
    C + '__deal-link{font-weight:600;color:#1375ab;text-decoration:none}',
    C + '__deal-link:hover{text-decoration:underline}',
    C + '__deal-meta{font-size:12px;color:#6b7685}',
    C + '__deal-reason{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}',
    C + '__dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#8591a5;margin-right:5px}',
    C + '__dot--critical{background:#e0443a}',
    C + '__dot--warning{background:#f0a020}',
    // supervisor panel
    C + '--panel{padding:16px 20px;max-width:1280px}',
    C + '__header{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;margin-bottom:12px}',
    C + '__h1{font-size:20px;font-weight:700;margin:0}',
    C + '__h2{font-size:15px;font-weight:700;margin:0 0 8px}',
    C + '__sync{min-width:300px;font-size:12px;color:#6b7685}',
    C + '__history{background:#eef4fb;border-left:4px solid #1375ab;padding:8px 10px;border-radius:2px;' +
      'margin:0 0 16px}',
    C + '__places{list-style:none;margin:0 0 16px;padding:0;display:grid;gap:6px}',
    C + '__place{background:#fdf7ea;border-left:4px solid #f0a020;padding:8px 10px;border-radius:2px}',
    C + '__place--most_losses{background:#fdf0ef;border-color:#e0443a}',
    C + '__grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:16px}',
    C + '__section{background:#fff;border:1px solid #dbdedf;border-radius:4px;padding:12px 14px}',
    C + '__section--wide{grid-column:1/-1}',
    C + '__lead{font-size:13px;margin:0 0 8px}',
    C + '__big{font-size:18px;font-weight:700}',
    C + '__chart{display:block;max-width:100%;height:auto;overflow:visible}',
    C + '__input[type="month"]{width:160px}',
    C + '__svg-text,' + C + '__svg-label{font-size:12px;fill:#2e3640}',
    C + '__svg-label-strong{font-size:12px;fill:#2e3640;font-weight:700}',
    C + '__svg-head{font-size:11px;fill:#6b7685;text-transform:uppercase}',
    C + '__svg-value{font-size:11px;fill:#4a5563}',
    C + '__svg-value-strong{font-size:11px;fill:#2e3640;font-weight:700}',
    C + '__svg-muted{font-size:10px;fill:#8591a5}',
    C + '__svg-hang{font-size:11px;fill:#b36b00;font-weight:700}',
    C + '__bar-open{fill:#4c8bf5}',
    C + '__bar-over{fill:#f0a020}',
    C + '__bar-loss{fill:#f3a7a1}',
    C + '__bar-loss-worst{fill:#e0443a}',
    C + '__bar-time{fill:#9bb8e8}',
    C + '__bar-hang{fill:#f0a020}',
    C + '__bar-incoming{fill:#dfe5ee}',
    C + '__bar-converted{fill:#3aa76d}',
    C + '__bar-plan{fill:#e6ebf2}',
    C + '__bar-fact{fill:#3aa76d}',
    C + '__bar-behind{fill:#f0a020}',
    C + '__p80-tick,' + C + '__projected-tick{stroke:#2e3640;stroke-width:2}',
    C + '__pace-tick{stroke:#6b7685;stroke-width:2;stroke-dasharray:3 2}',
    C + '__median-line{stroke:#6b7685;stroke-width:1;stroke-dasharray:4 3}',
    C + '__grid-line{stroke:#eef1f5;stroke-width:1}',
    C + '__fan{fill:#4c8bf5;fill-opacity:0.18;stroke:#4c8bf5;stroke-opacity:0.35}',
    C + '__fan-median{fill:none;stroke:#4c8bf5;stroke-width:2}',
    C + '__fan-point{fill:#fff;stroke:#4c8bf5;stroke-width:2}',
    C + '__progress-track{fill:#e6ebf2}',
    C + '__progress-fill{fill:#3aa76d}',
    C + '__legend{font-size:11px;color:#6b7685;margin-top:6px}',
    C + '__speed-table{margin:6px 0 10px}',
    C + '__speed-waiting td:last-child{color:#c0392b;font-weight:600}',
    C + '__rate-bar{display:inline-block;width:80px;height:8px;background:#eef1f5;border-radius:4px;' +
      'vertical-align:middle;overflow:hidden}',
    C + '__rate-bar span{display:block;height:8px;background:#3aa76d}',
    C + '__table{border-collapse:collapse;width:100%;font-size:12px}',
    C + '__table th{text-align:left;color:#6b7685;font-weight:600;border-bottom:1px solid #dbdedf;padding:4px 6px}',
    C + '__table td{border-bottom:1px solid #eef1f5;padding:4px 6px}',
    C + '__table td' + C + '__num,' + C + '__table th' + C + '__num{text-align:right;white-space:nowrap}',
    C + '__input{font:inherit;font-size:12px;padding:3px 6px;border:1px solid #c5ccd6;border-radius:3px;width:110px}',
    C + '__input--short{width:70px}',
    C + '__input--field{width:auto;max-width:100%}',  // a field's name is read whole, not cut
    C + '__form-row{display:flex;align-items:center;gap:8px;margin:0 0 8px;flex-wrap:wrap}',
    C + '__form-row label{min-width:220px}',
    C + '__checks{display:flex;flex-wrap:wrap;gap:4px 16px}',
    C + '__form-row ' + C + '__day{min-width:0;white-space:nowrap}',
    C + '__actions{margin-top:10px;display:flex;gap:8px;align-items:center}'
  ].join('\n');

  function ensureStyle() {
    if (!$('#' + CSS + '-style').length) {
      $('head').append('<style id="' + CSS + '-style">' + STYLE + '</style>');
    }
  }

  return {ensureStyle: ensureStyle};
});
